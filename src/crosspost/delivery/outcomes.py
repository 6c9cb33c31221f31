"""What each outcome of a publish does to its delivery, recorded in one place.

    sent ─────────────> sent, with the network's id and URL (and a warning it read back)
    a step done ──────> queued after `after`, its progress kept, no attempt counted
    transient error ──> queued after a backoff (a rate limit holds the whole account)
    permanent error ──> failed, with the reason
    auth error ───────> failed, and the account paused until it verifies again
    unknown outcome ──> the network is asked: found -> sent; certainly not there -> queued,
                        asked once more before sending; no answer -> in_doubt

`Dispatcher` (in `dispatch`) publishes and hands each outcome here.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from crosspost import logs, store, telemetry
from crosspost.adapter import (
    Adapter,
    AuthError,
    Idempotent,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PermanentError,
    PublishError,
    RateLimited,
    Receipt,
    TransientError,
)
from crosspost.delivery import claims
from crosspost.delivery.retry import backoff, log_outcome
from crosspost.delivery.settle import Lookup, look_up
from crosspost.logs import REDACTOR
from crosspost.model import Status
from crosspost.service.assembly import Setup
from crosspost.timeutil import Clock

log = logs.get("crosspost.dispatch")  # outcomes are the dispatcher's events


class Outcomes:
    """Records outcomes for one worker; the dispatcher is one of these."""

    engine: Engine
    worker: str
    clock: Clock
    rng: random.Random

    def _pending(self, setup: Setup, delivery: store.Delivery, step: Pending) -> str:
        """One step done, the network still working: the progress is recorded and the lane
        freed; it comes back after `step.after` and the wait costs no attempt. A wait that
        outlasts `give_up_after` fails like a retry would."""
        now = self.clock()
        if now - delivery.due_at > setup.config.give_up_after:
            return self._finish(
                delivery, Status.FAILED, reason=f"gave up waiting for the network: {step}"
            )
        return self._queue(
            delivery,
            now + step.after,
            REDACTOR.scrub(f"in progress: {step}"),
            attempts=max(delivery.attempts - 1, 0),
            progress=json.dumps(step.progress),
        )

    def _sent(self, delivery: store.Delivery, receipt: Receipt, **more: Any) -> str:
        """Sent; when the network stored something else than what was sent (read back by the
        adapter), the difference is kept as the reason and logged as an error."""
        return self._finish(
            delivery,
            Status.SENT,
            remote_id=receipt.remote_id,
            remote_url=receipt.url,
            reason=REDACTOR.scrub(receipt.warning) if receipt.warning else None,
            remote_ids=json.dumps(receipt.parts) if len(receipt.parts) > 1 else None,
            **more,
        )

    def _published(
        self,
        setup: Setup,
        adapter: Adapter | None,
        outgoing: OutgoingPost | None,
        delivery: store.Delivery,
        receipt: Receipt,
    ) -> str:
        """Where a published (or found) post goes: sent (`comments` adds its first comment)."""
        return self._sent(delivery, receipt)

    def _failed(
        self,
        setup: Setup,
        adapter: Adapter,
        outgoing: OutgoingPost,
        delivery: store.Delivery,
        exc: PublishError,
    ) -> str:
        now = self.clock()
        reason = REDACTOR.scrub(f"{type(exc).__name__}: {exc}")  # errors may echo a token
        if isinstance(exc, OutcomeUnknown):
            return self._unknown(setup, adapter, outgoing, delivery, reason)
        if isinstance(exc, AuthError):
            store.pause_account(self.engine, delivery.account, reason, now)
            log.error(
                "account paused",
                account=delivery.account,
                reason=reason,
                fix=f"crosspost auth {delivery.account}, or fix its secrets; it resumes "
                "once it verifies",
            )
            return self._finish(
                delivery,
                Status.FAILED,
                reason=reason + "; account paused until its credentials verify again",
            )
        if isinstance(exc, TransientError):
            config = setup.config
            too_old = now - delivery.due_at > config.give_up_after
            if delivery.attempts >= config.daemon.max_attempts or too_old:
                return self._finish(
                    delivery,
                    Status.FAILED,
                    reason=f"gave up after {delivery.attempts} attempts: {reason}",
                )
            wait = backoff(delivery.attempts, config.retry_backoff, self.rng)
            at = now + wait
            if isinstance(exc, RateLimited):  # the whole account waits, not this post only
                reset = exc.until(now)
                at = max(at, reset) if reset is not None else at  # unsaid: the backoff
                store.hold_account(self.engine, delivery.account, at)
                telemetry.meter.rate_limited(delivery.account)
            return self._queue(delivery, at, reason)
        if isinstance(exc, PermanentError):
            return self._finish(delivery, Status.FAILED, reason=reason)
        return self._finish(delivery, Status.IN_DOUBT, reason=reason)

    def _queue(
        self,
        delivery: store.Delivery,
        at: datetime,
        reason: str,
        recheck: bool = False,
        **more: Any,
    ) -> str:
        """Back in the queue from `at`, unclaimed; `recheck`: ask the network first."""
        values = {"next_attempt_at": at, "reason": reason, "recheck": recheck, **more}
        return self._finish(delivery, Status.QUEUED, claimed_by=None, claimed_at=None, **values)

    def _finish(self, delivery: store.Delivery, status: Status, **values: Any) -> Status:
        assert delivery.id is not None
        values.setdefault("recheck", False)
        if status in (Status.SENT, Status.FAILED, Status.CANCELLED):
            values["progress"] = None  # a person's retry starts the steps again
        claims.finish(self.engine, delivery.id, self.worker, self.clock(), status=status, **values)
        log_outcome(delivery, status, values)
        telemetry.meter.outcome(delivery.account, status)
        return status

    def _unknown(
        self,
        setup: Setup,
        adapter: Adapter | None,
        outgoing: OutgoingPost | None,
        delivery: store.Delivery,
        reason: str,
    ) -> str:
        """An outcome nobody knows is settled by the network: found, it is sent; certainly
        not there (or the adapter is idempotent), it goes again, the network asked once more
        just before; only when the network cannot be asked does a person decide."""
        lookup = look_up(adapter, outgoing, delivery.key) if outgoing else Lookup(None, False)
        if lookup.found is not None:
            return self._published(setup, adapter, outgoing, delivery, lookup.found)
        idempotent = isinstance(adapter, Idempotent) and adapter.idempotent
        if lookup.asked or idempotent:
            return self._requeue(
                setup, delivery, reason + "; not on the network: sending again", not idempotent
            )
        return self._finish(
            delivery,
            Status.IN_DOUBT,
            reason=reason + "; the network could not be asked whether it went out: check it, "
            f"then run: crosspost resolve {delivery.id} --sent URL | --not-sent",
        )

    def _requeue(
        self,
        setup: Setup,
        delivery: store.Delivery,
        reason: str,
        recheck: bool,
        unsettled: bool = False,
    ) -> str:
        """Queued again: at once when publishing again is harmless (an idempotent adapter),
        else after a backoff, which also gives the network time to show a post it took.
        Out of attempts, an `unsettled` one (it may be on the network) is left to a person."""
        if delivery.attempts >= setup.config.daemon.max_attempts and unsettled:
            return self._finish(
                delivery,
                Status.IN_DOUBT,
                reason=f"{reason}, after {delivery.attempts} attempts: check it, then run: "
                f"crosspost resolve {delivery.id} --sent URL | --not-sent",
            )
        if delivery.attempts >= setup.config.daemon.max_attempts:
            return self._finish(
                delivery,
                Status.FAILED,
                reason=f"gave up after {delivery.attempts} attempts: {reason}",
            )
        base = setup.config.retry_backoff
        wait = backoff(delivery.attempts, base, self.rng) if recheck else timedelta(0)
        return self._queue(delivery, self.clock() + wait, reason, recheck)

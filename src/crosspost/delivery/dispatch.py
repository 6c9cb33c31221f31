"""Publishing one claimed delivery, and what its outcome does to its state.

    queued ──claim──> sending ──ok──────────────> sent (remote id + URL kept)
                        │──transient error────> queued again, not before next_attempt_at
                        │──permanent error────> failed (reason kept)
                        │──auth error─────────> failed + account paused until it verifies
                        └──unknown outcome────> ask the network (`settle`): found -> sent;
                                                certainly not there -> queued, asked again
                                                before sending; no answer -> in_doubt

The text is rendered at send time from the current calendar, so an edit made after a post
fell due (while it waits for a retry) is what goes out.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Engine

from crosspost import logs, store
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
    Reconciles,
    TransientError,
)
from crosspost.delivery import claims
from crosspost.delivery.lanes import Lanes
from crosspost.delivery.retry import backoff, log_outcome
from crosspost.delivery.settle import Lookup, look_up
from crosspost.logs import REDACTOR
from crosspost.model import Status
from crosspost.render.compose import Cancelled, prepare
from crosspost.render.fitting import DoesNotFit
from crosspost.render.voice import VoiceError
from crosspost.service.assembly import Setup
from crosspost.timeutil import Clock

log = logs.get("crosspost.dispatch")


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        worker: str,
        clock: Clock,
        lanes: int = 64,
        rng: random.Random | None = None,
    ) -> None:
        self.engine, self.worker, self.clock = engine, worker, clock
        self.rng = rng or random.Random()  # the retries' jitter: injected, so tests can seed it
        self.lanes = Lanes(lanes, self._progressed)
        self.progress = time.monotonic()  # the watchdog's sign of life during long runs
        self.on_done: Callable[[], object] = lambda: None  # the daemon's wake-up

    def _progressed(self) -> None:
        self.progress = time.monotonic()
        self.on_done()

    def run_due(
        self,
        setup: Setup,
        stop: threading.Event,
        recover: Callable[[], object] = lambda: None,
        wait: bool = True,
    ) -> int:
        """Hand every due delivery to its account's lane (see `Lanes.run`)."""

        def claim(busy: set[str], n: int, only: str | None = None) -> list[store.Delivery]:
            return claims.claim_many(self.engine, self.clock(), self.worker, busy, n, only)

        return self.lanes.run(claim, partial(self.publish, setup), stop, recover, wait, self.clock)

    def publish(self, setup: Setup, delivery: store.Delivery) -> str:
        assert delivery.id is not None
        try:
            adapter, outgoing = prepare(setup, delivery)
        except Cancelled as exc:
            return self._finish(delivery, Status.CANCELLED, reason=str(exc))
        except (VoiceError, DoesNotFit) as exc:
            return self._finish(delivery, Status.FAILED, reason=str(exc))
        except Exception as exc:  # never leave the row in `sending`, never stop the tick
            log.exception("cannot prepare delivery", delivery=delivery.id)
            return self._finish(
                delivery, Status.FAILED, reason=REDACTOR.scrub(f"{type(exc).__name__}: {exc}")
            )
        outgoing = with_progress(outgoing, delivery)
        store.set_status(
            self.engine,
            store.columns.id == delivery.id,
            self.clock(),
            text="\n\n".join(outgoing.parts),
            parts=json.dumps(outgoing.parts),
        )
        if delivery.recheck:  # the last attempt's outcome was unknown: ask once more first
            lookup = look_up(adapter, outgoing, delivery.key)
            if lookup.found is not None:
                return self._sent(delivery, lookup.found)
            if not lookup.asked:
                return self._requeue(
                    setup,
                    delivery,
                    "cannot ask the network whether the last attempt went out",
                    recheck=True,
                    unsettled=True,
                )
        try:
            receipt = adapter.publish(outgoing, delivery.key)
        except Pending as exc:
            return self._pending(setup, delivery, exc)
        except PublishError as exc:
            return self._failed(setup, adapter, outgoing, delivery, exc)
        except Exception as exc:
            return self._failed(
                setup,
                adapter,
                outgoing,
                delivery,
                OutcomeUnknown(f"unexpected {type(exc).__name__}: {exc}"),
            )
        return self._sent(delivery, receipt)

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

    def _sent(self, delivery: store.Delivery, receipt: Receipt) -> str:
        """Sent; when the network stored something else than what was sent (read back by the
        adapter), the difference is kept as the reason and logged as an error."""
        return self._finish(
            delivery,
            Status.SENT,
            remote_id=receipt.remote_id,
            remote_url=receipt.url,
            reason=REDACTOR.scrub(receipt.warning) if receipt.warning else None,
        )

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
            reset = exc.until(now) if isinstance(exc, RateLimited) else None
            if reset is not None:
                at = max(at, reset)
                store.hold_account(self.engine, delivery.account, reset)  # all of it
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
        return status

    def settle_interrupted(self, setup: Setup, delivery: store.Delivery) -> str:
        """A delivery left in `sending` by a crash (taken over by this worker): the post
        may or may not have left, so the network is asked, with the parts that were sent."""
        adapter = setup.adapters.get(delivery.account)
        try:
            outgoing = with_progress(
                OutgoingPost(parts=tuple(json.loads(delivery.parts)))
                if delivery.parts
                else prepare(setup, delivery)[1],
                delivery,
            )
        except Exception:  # removed from the calendar since: nothing to compare with
            outgoing = None
        return self._unknown(setup, adapter, outgoing, delivery, "interrupted while publishing")

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
            return self._sent(delivery, lookup.found)
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

    def abandon_in_flight(self, setup: Setup) -> list[store.Delivery]:
        """At shutdown, publishes that did not return in time may have left. When the
        network can be asked, each is queued to be looked up before anything is sent again
        (by the next start); only when it cannot be asked does a person decide."""
        abandoned = []
        for flight in self.lanes.flights():
            delivery, adapter = flight.delivery, setup.adapters.get(flight.delivery.account)
            idempotent = isinstance(adapter, Idempotent) and adapter.idempotent
            if isinstance(adapter, Reconciles) or idempotent:
                reason = (
                    "daemon stopped while publishing; the network is asked before it goes again"
                )
                self._queue(delivery, self.clock(), reason, recheck=not idempotent)
            else:
                self._finish(
                    delivery,
                    Status.IN_DOUBT,
                    reason="daemon stopped while publishing; check the network, then run "
                    f"crosspost resolve {delivery.id} --sent URL | --not-sent",
                )
            abandoned.append(delivery)
        return abandoned


def with_progress(outgoing: OutgoingPost, delivery: store.Delivery) -> OutgoingPost:
    """The post with the steps its delivery has done so far (see `Pending`)."""
    return (
        replace(outgoing, progress=json.loads(delivery.progress)) if delivery.progress else outgoing
    )

"""Publishing claimed deliveries, each account in its lane; `outcomes` records what each
publish did (sent, a step done, a retry, a failure, an unknown outcome settled).

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
from functools import partial

from sqlalchemy import Engine

from crosspost import logs, store, telemetry
from crosspost.adapter import (
    Idempotent,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PublishError,
    Reconciles,
)
from crosspost.delivery import claims
from crosspost.delivery.comments import (
    FirstComments,
    commenting,
    doubt_since,
    posted,
    resendable,
)
from crosspost.delivery.lanes import Lanes
from crosspost.delivery.settle import look_up
from crosspost.logs import REDACTOR
from crosspost.model import Source, Status
from crosspost.render.compose import Cancelled, prepare
from crosspost.render.fitting import DoesNotFit
from crosspost.render.voice import VoiceError
from crosspost.service.assembly import Setup
from crosspost.sources import approval
from crosspost.sources.approval import Approval
from crosspost.timeutil import Clock

log = logs.get("crosspost.dispatch")


class Dispatcher(FirstComments):
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
        done = posted(delivery)  # published already: only its first comment is left
        if done is not None:
            return self._comment_only(setup, delivery, done)
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
        text = "\n\n".join(outgoing.parts)
        delivery.author = outgoing.meta.get("author")  # for the log lines of its outcome
        sent = {"text": text, "parts": json.dumps(outgoing.parts), "author": delivery.author}
        checked = "\n\n".join((text, outgoing.first_comment)) if outgoing.first_comment else text
        held = approval_hold(setup, delivery) or charter_hold(setup, delivery, checked)
        if held:
            return self._finish(delivery, Status.HELD, reason=held, **sent)
        store.set_status(self.engine, store.columns.id == delivery.id, self.clock(), **sent)
        if delivery.recheck:  # the last attempt's outcome was unknown: ask once more first
            lookup = look_up(adapter, outgoing, delivery.key)
            if lookup.found is not None:
                return self._published(setup, adapter, outgoing, delivery, lookup.found)
            if not lookup.asked:
                return self._requeue(
                    setup,
                    delivery,
                    "cannot ask the network whether the last attempt went out",
                    recheck=True,
                    unsettled=True,
                )
        started = time.monotonic()
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
        lag = (self.clock() - delivery.due_at).total_seconds()
        telemetry.meter.published(delivery.account, time.monotonic() - started, lag)
        return self._published(setup, adapter, outgoing, delivery, receipt)

    def settle_interrupted(self, setup: Setup, delivery: store.Delivery) -> str:
        """A delivery left in `sending` by a crash (taken over by this worker): the post
        may or may not have left, so the network is asked, with the parts that were sent. One
        whose post was published is past that: only its first comment is in question."""
        adapter = setup.adapters.get(delivery.account)
        done = posted(delivery)
        if done is not None:
            return self._comment_only(setup, delivery, done)
        try:
            prepared = prepare(setup, delivery)[1]
        except Exception:  # removed from the calendar since: only the parts that were sent
            prepared = OutgoingPost(parts=())
        sent_parts = tuple(json.loads(delivery.parts)) if delivery.parts else prepared.parts
        outgoing = None
        if sent_parts:
            outgoing = with_progress(replace(prepared, parts=sent_parts), delivery)
        return self._unknown(setup, adapter, outgoing, delivery, "interrupted while publishing")

    def abandon_in_flight(self, setup: Setup) -> list[store.Delivery]:
        """At shutdown, publishes that did not return in time may have left. When the
        network can be asked, each is queued to be looked up before anything is sent again
        (by the next start); only when it cannot be asked does a person decide."""
        abandoned = []
        for flight in self.lanes.flights():
            delivery, adapter = flight.delivery, setup.adapters.get(flight.delivery.account)
            idempotent = isinstance(adapter, Idempotent) and adapter.idempotent
            done = posted(delivery)
            since = doubt_since(delivery)
            if (
                done is not None
                and commenting(delivery)
                and not resendable(adapter, since, self.clock())
            ):
                self._comment_in_doubt(delivery, done, "the daemon stopped while adding it")
            elif done is not None:  # the comment certainly did not leave: it goes next start
                reason = "daemon stopped before adding the first comment"
                self._queue(delivery, self.clock(), reason, progress=delivery.progress)
            elif isinstance(adapter, Reconciles) or idempotent:
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


def approval_hold(setup: Setup, delivery: store.Delivery) -> str:
    """Why this calendar post may not go to its account yet ("" when it may): an approval
    is required there and the post has none that is valid (see `sources.approval`)."""
    post = setup.calendar.posts.get(delivery.post_id)
    if delivery.released or delivery.source != Source.CALENDAR or post is None:
        return ""
    found = approval.state(setup.config, post, delivery.account)
    if found in (Approval.NOT_NEEDED, Approval.APPROVED):
        return ""
    return approval.hold_reason(setup.config, post, found)


def charter_hold(setup: Setup, delivery: store.Delivery, text: str) -> str:
    """Why the charter holds this text back ("" when it does not): checked at send time,
    since a feed article or a template edited since `check` can break a rule too. A
    delivery a person released goes out whatever the charter says."""
    if delivery.released or not setup.charter:
        return ""
    network = setup.config.accounts[delivery.account].network
    hits = setup.charter.blocking(text, delivery.account, network, str(delivery.source))
    if not hits:
        return ""
    why = "; ".join(hit.describe() for hit in hits)
    return (f"held by the charter: {why}; edit the post, then crosspost retry {delivery.id}, "
            f"or send it as it is: crosspost release {delivery.id}")  # fmt: skip


def with_progress(outgoing: OutgoingPost, delivery: store.Delivery) -> OutgoingPost:
    """The post with the steps its delivery has done so far (see `Pending`)."""
    return (
        replace(outgoing, progress=json.loads(delivery.progress)) if delivery.progress else outgoing
    )

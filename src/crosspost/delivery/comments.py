"""The first comment: one more recorded step of a delivery, after its post is published.

    published ──> recorded: the post's id, and that its comment is being sent
              ──> comment ──> sent (the comment's URL kept beside the post's)
                  certainly not added (a TransientError) ──> queued: the comment alone again
                  no answer ──> the same, when the adapter is idempotent; else sent, with
                                a warning a person reads
                  refused ──> sent, with the reason as a warning

The record is written before the comment is sent, so whatever happens next (an error, a
crash, a stop) the post is never published again, and a comment whose outcome nobody knows
is never sent again: a missing comment is a warning to look at, a second one is a mess on the
company's page that nobody can take back quietly.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from crosspost import logs, store
from crosspost.adapter import (
    Adapter,
    Comments,
    Idempotent,
    OutcomeUnknown,
    OutgoingPost,
    RateLimited,
    Receipt,
    TransientError,
)
from crosspost.delivery.outcomes import Outcomes
from crosspost.delivery.retry import backoff
from crosspost.logs import REDACTOR
from crosspost.render.compose import prepare
from crosspost.render.first_comment import cannot_comment
from crosspost.service.assembly import Setup

log = logs.get("crosspost.dispatch")

POSTED, POSTED_URL, POSTED_WARNING = "_posted", "_posted_url", "_posted_warning"
POSTED_PARTS = "_posted_parts"
COMMENTING = "_commenting"  # when the comment was handed to the network, outcome unrecorded
UNKNOWN_SINCE = "_comment_unknown_since"  # the first hand-over whose outcome nobody knows


def _progress(delivery: store.Delivery) -> dict[str, Any]:
    progress = json.loads(delivery.progress) if delivery.progress else {}
    return progress if isinstance(progress, dict) else {}


def posted(delivery: store.Delivery) -> Receipt | None:
    """The post this delivery already published, when only its comment remains."""
    progress = _progress(delivery)
    if POSTED not in progress:
        return None
    return Receipt(
        str(progress[POSTED]),
        str(progress.get(POSTED_URL, "")),
        progress.get(POSTED_WARNING, ""),
        tuple(progress.get(POSTED_PARTS, ())),
    )


def commenting(delivery: store.Delivery) -> bool:
    """The comment left and no outcome was recorded (a crash, a stop): it may be there."""
    return bool(_progress(delivery).get(COMMENTING))


def doubt_since(
    delivery: store.Delivery, keys: tuple[str, ...] = (COMMENTING, UNKNOWN_SINCE)
) -> datetime | None:
    """Since when a comment of this delivery may be on the network: the earliest hand-over
    whose outcome nobody knows (a mark from before times were kept counts from the
    delivery's last change)."""
    progress, times = _progress(delivery), []
    for key in keys:
        if value := progress.get(key):
            try:
                times.append(datetime.fromisoformat(str(value)))
            except ValueError:
                times.append(delivery.updated_at)
    return min(times) if times else None


def _record(
    receipt: Receipt, handed: datetime | None = None, unknown: datetime | None = None
) -> str:
    mark = {POSTED: receipt.remote_id, POSTED_URL: receipt.url, POSTED_WARNING: receipt.warning,
            POSTED_PARTS: list(receipt.parts)}  # fmt: skip
    if handed is not None:
        mark[COMMENTING] = handed.isoformat()
    if unknown is not None:
        mark[UNKNOWN_SINCE] = unknown.isoformat()
    return json.dumps(mark)


def _warned(receipt: Receipt, problem: str) -> Receipt:
    warning = f"{receipt.warning}; {problem}" if receipt.warning else problem
    return replace(receipt, warning=warning)


class FirstComments(Outcomes):
    """The comment step, for the dispatcher: `_published` is where every found or
    published post goes."""

    def _published(
        self,
        setup: Setup,
        adapter: Adapter | None,
        outgoing: OutgoingPost | None,
        delivery: store.Delivery,
        receipt: Receipt,
    ) -> str:
        """The post is on the network: sent, unless a first comment must follow it."""
        text = outgoing.first_comment if outgoing else ""
        if not text or adapter is None:
            return self._sent(delivery, receipt)
        if not isinstance(adapter, Comments):
            log.warning("first comment not added", delivery=delivery.id,
                        account=delivery.account, reason=cannot_comment(adapter))  # fmt: skip
            return self._sent(delivery, receipt)
        assert delivery.id is not None
        now = self.clock()
        delivery.progress = _record(receipt, now, doubt_since(delivery))  # seen by a stop too
        values: dict[str, Any] = {"remote_id": receipt.remote_id, "remote_url": receipt.url}
        store.set_status(self.engine, store.columns.id == delivery.id, now,
                         progress=delivery.progress, **values)  # fmt: skip
        try:
            comment = adapter.comment(receipt, text, delivery.key + "#comment")
        except TransientError as exc:
            return self._comment_later(setup, delivery, receipt, exc)
        except OutcomeUnknown as exc:  # harmless to send again only under an idempotency key
            if not resendable(adapter, doubt_since(delivery), self.clock()):
                why = REDACTOR.scrub(f"{type(exc).__name__}: {exc}")
                return self._comment_in_doubt(delivery, receipt, why)
            again = TransientError(str(exc))
            return self._comment_later(setup, delivery, receipt, again, at_once=True)
        except Exception as exc:  # refused: nothing to send again
            why = REDACTOR.scrub(f"{type(exc).__name__}: {exc}")
            return self._sent(delivery, _warned(receipt, _not_added(delivery, why)))
        return self._sent(delivery, receipt, comment_url=comment.url or comment.remote_id)

    def _comment_later(
        self,
        setup: Setup,
        delivery: store.Delivery,
        receipt: Receipt,
        exc: TransientError,
        at_once: bool = False,
    ) -> str:
        """The comment is certainly not there, or sending it again is harmless (`at_once`,
        as a publish to an idempotent adapter is): it alone is tried again."""
        reason = REDACTOR.scrub(f"{type(exc).__name__}: {exc}")
        now, config = self.clock(), setup.config
        if delivery.attempts >= config.daemon.max_attempts or now - delivery.due_at > (
            config.give_up_after
        ):
            problem = _not_added(delivery, f"gave up after {delivery.attempts} attempts: {reason}")
            return self._sent(delivery, _warned(receipt, problem))
        wait = backoff(delivery.attempts, config.retry_backoff, self.rng)
        at = now if at_once else now + wait
        reset = exc.until(now) if isinstance(exc, RateLimited) else None
        at = max(at, reset) if reset is not None else at
        # certainly not added this time; an earlier hand-over (or this one, `at_once`) may be
        unknown = doubt_since(
            delivery, (COMMENTING, UNKNOWN_SINCE) if at_once else (UNKNOWN_SINCE,)
        )
        delivery.progress = _record(receipt, unknown=unknown)
        return self._queue(
            delivery, at, f"published; its first comment: {reason}", progress=delivery.progress
        )

    def _comment_only(self, setup: Setup, delivery: store.Delivery, done: Receipt) -> str:
        """A delivery whose post is published: its comment, unless it may already be there
        (then a warning), or the post cannot be prepared any more (removed from the
        calendar, its comment now too long...: sent, with why the comment is missing)."""
        since = doubt_since(delivery)
        if since is not None and not resendable(
            setup.adapters.get(delivery.account), since, self.clock()
        ):
            why = "interrupted while adding it" if commenting(delivery) else "its answer was lost"
            return self._comment_in_doubt(delivery, done, why)
        try:
            adapter, outgoing = prepare(setup, delivery)
        except Exception as exc:
            why = REDACTOR.scrub(f"cannot prepare it: {exc}")
            return self._sent(delivery, _warned(done, _not_added(delivery, why)))
        return self._published(setup, adapter, outgoing, delivery, done)

    def _comment_in_doubt(self, delivery: store.Delivery, receipt: Receipt, why: str) -> str:
        """The comment left and nobody knows what became of it: sent, with a warning."""
        problem = _not_added(delivery, f"{why}; it may or may not be there")
        return self._sent(delivery, _warned(receipt, problem))


def resendable(adapter: Adapter | None, since: datetime | None, now: datetime) -> bool:
    """A comment whose outcome is unknown since `since` may be sent again: the adapter is
    idempotent, so its comment is too (Mastodon's Idempotency-Key, Bluesky's record key, a
    file's name), and the network still knows the key (`idempotent_for` seconds, on an
    adapter whose network forgets keys: Mastodon keeps them for an hour)."""
    if not (isinstance(adapter, Idempotent) and adapter.idempotent):
        return False
    window = getattr(adapter, "idempotent_for", None)
    if since is None or not isinstance(window, int | float):
        return True
    return (now - since).total_seconds() < window


def _not_added(delivery: store.Delivery, why: str) -> str:
    return (
        f"the post is published, but its first comment was not added ({why}); add it by "
        "hand on the network if it is missing (crosspost never sends it twice)"
    )

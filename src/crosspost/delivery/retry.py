"""When a delivery is tried again, and what a person can do about one that will not be.

Retries back off exponentially with jitter (30 s, 1 min, 2 min... capped at an hour, each
times 0.5-1, so accounts that failed together do not retry together); a network's own reset
time wins when it is later. A delivery that will not be retried names, in its log line, the
command that helps.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from crosspost import logs, store
from crosspost.model import Status

log = logs.get("crosspost.dispatch")  # outcomes are the dispatcher's events

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)


def backoff(
    attempts: int, base: timedelta = BACKOFF_BASE, rng: random.Random | None = None
) -> timedelta:
    """Exponential backoff with jitter: 30 s, 1 min, 2 min… capped at 1 h, times 0.5–1.

    `base` is `[daemon] retry_backoff` (30 s; seconds for the fault and crash suites); `rng`
    is the dispatcher's, injected so a test can seed it."""
    ceiling = min(BACKOFF_CAP, base * (2 ** max(attempts - 1, 0)))
    jitter = (rng or random).uniform(0.5, 1.0)
    return timedelta(seconds=ceiling.total_seconds() * jitter)


def fix_hint(status: Status, delivery: store.Delivery, reason: str, altered: bool) -> str | None:
    """The command that helps, for a log line a person will read."""
    if altered:
        return "look at the post on the network (crosspost history shows why)"
    if status == Status.IN_DOUBT:
        return f"check the network, then: crosspost resolve {delivery.id} --sent URL | --not-sent"
    if status == Status.FAILED and "account paused" in reason:
        return (
            f"crosspost auth {delivery.account} (or fix the secrets file), "
            f"then: crosspost retry {delivery.id}"
        )
    if status == Status.FAILED:
        return f"fix the cause, then: crosspost retry {delivery.id}"
    if status == Status.HELD and reason.startswith("awaits approval"):
        return f"crosspost pending, then: crosspost approve {delivery.post_id} --as NAME"
    if status == Status.HELD:
        return (f"edit the post, then crosspost retry {delivery.id}; or send it as it is: "
                f"crosspost release {delivery.id}")  # fmt: skip
    return None


def log_outcome(delivery: store.Delivery, status: Status, values: dict[str, Any]) -> None:
    """One line per outcome: info when it went well, warning for a retry, error for what a
    person must look at (with the command that helps)."""
    altered = status == Status.SENT and bool(values.get("reason"))
    event = {Status.SENT: "delivery sent", Status.QUEUED: "delivery will be retried"}.get(
        status, f"delivery {status}"
    )
    if altered:
        event = "delivery sent, with a problem to look at"
    level = (
        "info"
        if status in (Status.SENT, Status.QUEUED, Status.CANCELLED) and not altered
        else "error"
    )
    getattr(log, "warning" if status == Status.QUEUED else level)(
        event,
        delivery=delivery.id,
        fix=fix_hint(status, delivery, str(values.get("reason") or ""), altered),
        post=delivery.post_id,
        account=delivery.account,
        author=delivery.author,
        status=status,
        attempt=delivery.attempts,
        url=values.get("remote_url"),
        reason=values.get("reason"),
        next_attempt=values["next_attempt_at"].isoformat() if "next_attempt_at" in values else None,
    )

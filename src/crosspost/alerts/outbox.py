"""Alerts waiting to be sent, in the database: an event becomes one row per target that
wants it, written once (the unique key and target make a second sighting a no-op); the
worker claims a target's due rows in one statement, so two daemons sharing PostgreSQL never
send the same alert twice, and records each send or failure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from crosspost import store
from crosspost.alerts.events import Event
from crosspost.store.tables import ALERTS, AlertRow

RETRY_AFTER = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
CLAIM_FOR = timedelta(minutes=2)  # a claimed row comes back if its sender died
KEEP_SENT = timedelta(days=60)  # then a sent row may go (an event older than that is over)
WATERMARK = "alerts:scanned"


def record(
    engine: Engine, events: Iterable[Event], routes: Mapping[str, set[str]], now: datetime
) -> int:
    """Write each event for each target whose events include its kind; returns how many
    rows are new (an event seen before makes none)."""
    rows = [
        {
            "key": e.key[:300],
            "target": target,
            "kind": e.kind,
            "title": e.title,
            "body": e.body,
            "attachment": e.attachment or None,
            "created_at": now,
            "next_try_at": now,
            "attempts": 0,
        }
        for e in events
        for target, kinds in routes.items()
        if e.kind in kinds
    ]
    if not rows:
        return 0
    with engine.begin() as conn:
        stmt = store.insert_dialect(engine).insert(ALERTS).on_conflict_do_nothing()
        return sum(conn.execute(stmt, [row]).rowcount for row in rows)


def claim(engine: Engine, target: str, now: datetime) -> list[AlertRow]:
    """Every due row of `target`, taken for a while (see `CLAIM_FOR`) in one statement."""
    c = ALERTS.c
    due = (c.target == target) & c.sent_at.is_(None) & c.gave_up_at.is_(None)
    stmt = (
        update(ALERTS)
        .where(due & (c.next_try_at <= now))
        .values(next_try_at=now + CLAIM_FOR, attempts=c.attempts + 1)
        .returning(*c)
    )
    with engine.begin() as conn:
        found = [AlertRow.model_validate(dict(row._mapping)) for row in conn.execute(stmt)]
    return sorted(found, key=lambda row: row.id or 0)


def sent(engine: Engine, rows: Sequence[AlertRow], now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(ALERTS)
            .where(ALERTS.c.id.in_([r.id for r in rows]))
            .values(sent_at=now, last_error=None)
        )


def not_sent(engine: Engine, rows: Sequence[AlertRow], error: str, now: datetime) -> list[AlertRow]:
    """A send failed: each row waits for its next try, or is given up after the last; the
    rows given up are returned (the caller logs them whole, so nothing is lost silently)."""
    given_up = [row for row in rows if row.attempts >= MAX_ATTEMPTS]
    with engine.begin() as conn:
        for row in rows:
            values: dict[str, object] = {"last_error": error[:1000]}
            if row in given_up:
                values["gave_up_at"] = now
            else:
                values["next_try_at"] = now + RETRY_AFTER[max(row.attempts - 1, 0)]
            conn.execute(update(ALERTS).where(ALERTS.c.id == row.id).values(**values))
    return given_up


def next_try(engine: Engine) -> datetime | None:
    """When the next unsent alert may be tried (for the worker's timer)."""
    c = ALERTS.c
    with engine.connect() as conn:
        at: datetime | None = conn.scalar(
            select(func.min(c.next_try_at)).where(c.sent_at.is_(None), c.gave_up_at.is_(None))
        )
    return at


def undelivered(engine: Engine, since: datetime) -> list[AlertRow]:
    """Alerts given up, or still failing, since `since`: `status` shows them."""
    c = ALERTS.c
    with Session(engine) as session:
        stmt = select(AlertRow).where(
            c.sent_at.is_(None), c.created_at >= since, c.last_error.is_not(None)
        )
        return list(session.scalars(stmt).all())


def prune(engine: Engine, now: datetime) -> int:
    with engine.begin() as conn:
        gone = conn.execute(ALERTS.delete().where(ALERTS.c.sent_at < now - KEEP_SENT))
        return gone.rowcount

"""Claims: how a daemon takes a delivery to publish, records its outcome, and takes over a
dead daemon's; the statements that make "never twice" hold with several workers or daemons.

A claim is one UPDATE ... RETURNING (`sending`, `claimed_by`, `claimed_at`); only the claimer
may record the outcome, and only once (`finish`); a claim whose daemon died is taken over
atomically by exactly one other (`take_over`) once its process is gone or its lease ran out.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Integer, bindparam, func, or_, select, true, update

from crosspost.model import Status
from crosspost.store import ACCOUNTS, DELIVERIES, Delivery, UTCDateTime, columns


def _waiting(now: Any) -> Any:
    """The accounts nothing may be sent to now: paused, or held by a rate limit."""
    return select(ACCOUNTS.c.name).where(
        or_(ACCOUNTS.c.paused_reason.is_not(None), ACCOUNTS.c.hold_until > now)
    )


def _claim_statement(one_account: bool) -> Any:
    """UPDATE ... RETURNING the oldest due queued delivery of each account that is not
    waiting and not busy, at most `n` of them: one statement, so two workers (or two daemons
    on PostgreSQL) never take one delivery twice (the UPDATE re-checks `queued` on each row,
    after any concurrent claim of it). `one_account`: only the account named `only` (a lane
    taking its account's next). Built once: a burst claims hundreds of times."""
    now = bindparam("now", type_=UTCDateTime)
    ranked = (
        select(
            columns.id,
            columns.next_attempt_at,
            func.row_number()
            .over(partition_by=columns.account, order_by=(columns.next_attempt_at, columns.id))
            .label("place"),
        )
        .where(
            columns.status == Status.QUEUED,
            columns.next_attempt_at <= now,
            columns.account.not_in(_waiting(now)),
            columns.account.not_in(bindparam("busy", expanding=True)),
            columns.account == bindparam("only") if one_account else true(),
        )
        .subquery()
    )
    pick = (
        select(ranked.c.id)
        .where(ranked.c.place == 1)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
        .limit(bindparam("n", type_=Integer))
    )
    return (
        update(DELIVERIES)
        .where(columns.id.in_(pick), columns.status == Status.QUEUED)
        .values(
            status=Status.SENDING,
            claimed_by=bindparam("worker"),
            claimed_at=now,
            attempts=columns.attempts + 1,
            updated_at=now,
        )
        .returning(*DELIVERIES.columns)
    )


_CLAIM, _CLAIM_ONE_ACCOUNT = _claim_statement(False), _claim_statement(True)


def claim_many(
    engine: Engine,
    now: datetime,
    worker: str,
    busy: Collection[str] = (),
    n: int = 1,
    only: str | None = None,
) -> list[Delivery]:
    """Take up to `n` due deliveries, the oldest of each account that is not waiting and
    not `busy` (publishing in this process: one lane per account), oldest first."""
    params = {"now": now, "busy": list(busy), "n": n, "worker": worker, "only": only}
    statement = _CLAIM if only is None else _CLAIM_ONE_ACCOUNT
    with engine.begin() as conn:
        rows = conn.execute(statement, params).mappings().all()
    claimed = [Delivery(**row) for row in rows]
    return sorted(claimed, key=lambda d: (d.next_attempt_at, d.id or 0))


def claim(
    engine: Engine, now: datetime, worker: str, busy: Collection[str] = ()
) -> Delivery | None:
    """Take the oldest due delivery (see `claim_many`)."""
    claimed = claim_many(engine, now, worker, busy)
    return claimed[0] if claimed else None


def finish(engine: Engine, delivery_id: int, worker: str, now: datetime, **values: Any) -> bool:
    """Record the outcome of a claimed delivery; only its claimer may, and only once."""
    stmt = (
        update(DELIVERIES)
        .where(
            columns.id == delivery_id,
            columns.status == Status.SENDING,
            columns.claimed_by == worker,
        )
        .values(updated_at=now, **values)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def take_over(engine: Engine, row: Delivery, worker: str, now: datetime) -> Delivery | None:
    """Claim a `sending` row left by a dead worker, if nobody else took it first."""
    stmt = (
        update(DELIVERIES)
        .where(
            columns.id == row.id,
            columns.status == Status.SENDING,
            columns.claimed_by == row.claimed_by,
            columns.claimed_at == row.claimed_at,
        )
        .values(claimed_by=worker, claimed_at=now, updated_at=now)
        .returning(*DELIVERIES.columns)
    )
    with engine.begin() as conn:
        taken = conn.execute(stmt).mappings().first()
    return Delivery(**taken) if taken else None


def next_attempt(engine: Engine, now: datetime, busy: Collection[str] = ()) -> datetime | None:
    """When the earliest queued delivery may be tried: the dispatcher's next wake-up. A
    paused account's deliveries do not count (they wait for a person: counting them would
    wake the daemon again and again), and a held account's count from its hold's end."""
    due = select(func.min(columns.next_attempt_at)).where(
        columns.status == Status.QUEUED,
        columns.account.not_in(_waiting(now)),
        columns.account.not_in(list(busy)),  # their lane's end wakes the daemon
    )
    lifts = select(func.min(ACCOUNTS.c.hold_until)).where(
        ACCOUNTS.c.hold_until > now,
        ACCOUNTS.c.paused_reason.is_(None),
        ACCOUNTS.c.name.in_(select(columns.account).where(columns.status == Status.QUEUED)),
    )
    with engine.connect() as conn:
        times = [conn.scalar(due), conn.scalar(lifts)]
    return min((t for t in times if t is not None), default=None)


def lease_runs_out(engine: Engine, now: datetime, lease: timedelta) -> datetime | None:
    """When the oldest claim still within its lease runs out: a daemon that died holding
    it (on another machine, sharing PostgreSQL) is noticed then, not at an idle tick."""
    oldest = select(func.min(columns.claimed_at)).where(
        columns.status == Status.SENDING, columns.claimed_at >= now - lease
    )
    with engine.connect() as conn:
        first = conn.scalar(oldest)
    return first + lease if first is not None else None

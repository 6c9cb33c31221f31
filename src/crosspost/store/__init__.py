"""Durable delivery state: the database is the source of truth, not the scheduler.

A delivery is one occurrence of a post to one account. Its `key` is stable (post id +
occurrence + account, or feed + item + account) and unique, so restarts, reloads, a cron
firing twice in the repeated DST hour, or two daemons sharing PostgreSQL never make a second
one. Claiming is one atomic statement: on SQLite an ``UPDATE … RETURNING`` under the write
lock, on PostgreSQL the same with ``FOR UPDATE SKIP LOCKED`` in the sub-select.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, func, select, update
from sqlmodel import Session

from crosspost.errors import StoreUnavailable as StoreUnavailable
from crosspost.model import Occurrence, Status
from crosspost.store.schema import open_engine as open_engine
from crosspost.store.schema import open_existing as open_existing
from crosspost.store.tables import ACCOUNTS as ACCOUNTS
from crosspost.store.tables import DELIVERIES as DELIVERIES
from crosspost.store.tables import META as META
from crosspost.store.tables import AccountState as AccountState
from crosspost.store.tables import Delivery as Delivery
from crosspost.store.tables import Meta as Meta
from crosspost.store.tables import UTCDateTime as UTCDateTime
from crosspost.store.tables import columns as columns

STATUSES = tuple(Status)


def add_occurrences(
    target: Engine | Connection, occurrences: Iterable[Occurrence], now: datetime
) -> dict[str, int]:
    """The one way sources make deliveries: a row per occurrence whose key is new (a
    `missed` one when it came too late); returns key -> id of the rows made. Given a
    connection, it joins that transaction (a feed's items are marked seen in the same)."""
    rows = [_row(occurrence, now) for occurrence in occurrences]
    if not rows:
        return {}
    if isinstance(target, Connection):
        return _insert(target, rows)
    with target.begin() as conn:
        return _insert(conn, rows)


def _row(occurrence: Occurrence, now: datetime) -> dict[str, Any]:
    content = occurrence.content
    return {
        "key": occurrence.key,
        "source": occurrence.source,
        "post_id": occurrence.post_id,
        "occurrence": occurrence.occurrence,
        "account": occurrence.account,
        "due_at": occurrence.due,
        "next_attempt_at": occurrence.due,
        "status": Status.MISSED if occurrence.missed else Status.QUEUED,
        "reason": occurrence.missed,
        "attempts": 0,
        "payload": json.dumps(content) if content is not None else None,
        "updated_at": now,
    }


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    stmt = (
        insert_dialect(conn.engine)
        .insert(DELIVERIES)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(columns.key, columns.id)
    )
    return {key: ident for key, ident in conn.execute(stmt, rows).all()}


def insert_new(engine: Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Insert raw rows whose key is not there yet, in any state: for tests and tools that
    set up a situation (a claimed row, a paused one). Sources use `add_occurrences`."""
    batch = list(rows)
    if not batch:
        return 0
    with engine.begin() as conn:
        return len(_insert(conn, batch))


def insert_dialect(engine: Engine) -> Any:
    """The dialect module whose `insert` has `on_conflict_do_nothing`."""
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite
    from sqlalchemy.dialects import postgresql  # only when used: it costs 5 MB of memory

    return postgresql


def set_status(engine: Engine, where: ColumnElement[bool], now: datetime, **values: Any) -> int:
    with engine.begin() as conn:
        result = conn.execute(update(DELIVERIES).where(where).values(updated_at=now, **values))
        return result.rowcount


def deliveries(
    engine: Engine,
    *where: ColumnElement[bool],
    newest_first: bool = False,
    limit: int | None = None,
) -> Sequence[Delivery]:
    order = columns.id.desc() if newest_first else columns.id
    stmt = select(Delivery).where(*where).order_by(order)
    if limit:
        stmt = stmt.limit(limit)
    with Session(engine) as session:
        return session.scalars(stmt).all()


def due_times(engine: Engine, account: str, since: datetime) -> set[datetime]:
    """When `account`'s deliveries are due, from `since` on: the slots taken (by feed
    items and queued posts alike)."""
    with engine.connect() as conn:
        return set(
            conn.scalars(
                select(columns.due_at).where(
                    columns.account == account,
                    columns.due_at >= since,
                    columns.status != Status.CANCELLED,  # its slot is free again
                )
            )
        )


def next_step_at(engine: Engine) -> datetime | None:
    """When the next multi-step publish in progress comes back (see `Pending`)."""
    with engine.connect() as conn:
        at: datetime | None = conn.scalar(
            select(func.min(columns.next_attempt_at)).where(
                columns.status == Status.QUEUED, columns.progress.is_not(None)
            )
        )
    return at


def existing_keys(engine: Engine, *where: ColumnElement[bool]) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(columns.key).where(*where)))


KEPT_EXPIRY = "expires:"  # + account: when a credential the adapter renews runs out


def get_meta(engine: Engine, key: str) -> str | None:
    with Session(engine) as session:
        row = session.get(Meta, key)
        return row.value if row else None


def set_meta(engine: Engine, key: str, value: str) -> None:
    with Session(engine) as session:
        session.merge(Meta(key=key, value=value))
        session.commit()


def pause_account(engine: Engine, name: str, reason: str | None, now: datetime) -> None:
    _set_account(engine, name, paused_reason=reason, paused_at=now if reason else None)


def hold_account(engine: Engine, name: str, until: datetime) -> None:
    """Send nothing to `name` before `until` (a rate limit's reset)."""
    _set_account(engine, name, hold_until=until)


def _set_account(engine: Engine, name: str, **values: Any) -> None:
    with Session(engine) as session:
        row = session.get(AccountState, name) or AccountState(name=name)
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        session.commit()


def paused_accounts(engine: Engine) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.scalars(
            select(AccountState).where(ACCOUNTS.c.paused_reason.is_not(None))
        ).all()
        return {row.name: row.paused_reason or "" for row in rows}

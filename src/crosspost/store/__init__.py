"""Durable delivery state: the database is the source of truth, not the scheduler.

A delivery is one occurrence of a post to one account. Its `key` is stable (post id +
occurrence + account, or feed + item + account) and unique, so restarts, reloads, a cron
firing twice in the repeated DST hour, or two daemons sharing PostgreSQL never make a second
one. Claiming is one atomic statement: on SQLite an ``UPDATE … RETURNING`` under the write
lock, on PostgreSQL the same with ``FOR UPDATE SKIP LOCKED`` in the sub-select.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    Table,
    select,
    update,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel

from crosspost.errors import StoreUnavailable as StoreUnavailable
from crosspost.model import Status
from crosspost.store.schema import open_engine as open_engine
from crosspost.store.schema import open_existing as open_existing

STATUSES = tuple(Status)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable across SQLite and PostgreSQL), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Delivery(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=400)
    source: str = "calendar"  # or "feed"
    post_id: str = Field(index=True, max_length=200)
    occurrence: str = Field(max_length=64)
    account: str = Field(index=True, max_length=100)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=Status.QUEUED, index=True, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime, index=True)
    claimed_by: str | None = None
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    text: str | None = None  # what was (or is being) sent, parts joined by "\n\n"
    remote_id: str | None = None
    remote_url: str | None = None
    reason: str | None = None
    payload: str | None = None  # JSON content for sources the calendar cannot rebuild (feeds)
    parts: str | None = None  # JSON list of the parts being sent (text joins them)
    recheck: bool = False  # the last outcome was unknown, and not found: ask before sending
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AccountState(SQLModel, table=True):
    """Why an account is not published to now: paused (its credentials were refused, a
    person acts), or held until a rate limit's reset (networks limit the whole account)."""

    name: str = Field(primary_key=True, max_length=100)
    paused_reason: str | None = None
    paused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hold_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Meta(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=100)
    value: str


DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
ACCOUNTS: Table = AccountState.__table__  # type: ignore[attr-defined]
META: Table = Meta.__table__  # type: ignore[attr-defined]
columns = DELIVERIES.c
"""Typed columns of the deliveries table, for where-clauses: ``columns.status == Status.SENT``."""


def insert_new(engine: Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Insert deliveries whose key is not there yet; existing ones are left untouched."""
    return len(insert_new_ids(engine, rows))


def insert_new_ids(engine: Engine, rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Like `insert_new`; returns key -> id of the rows this call created."""
    batch = list(rows)
    if not batch:
        return {}
    dialect = insert_dialect(engine)
    stmt = (
        dialect.insert(DELIVERIES)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(columns.key, columns.id)
    )
    with engine.begin() as conn:
        return {key: ident for key, ident in conn.execute(stmt, batch).all()}


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


def existing_keys(engine: Engine, *where: ColumnElement[bool]) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(columns.key).where(*where)))


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

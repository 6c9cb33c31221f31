"""The SQL tables crosspost keeps, all in one place: deliveries, accounts, feeds, meta,
daemons' heartbeats, alerts, and the numbers networks give about sent posts.

Every table is here (not beside the code that fills it) so that opening the database can
create and migrate all of them without importing the layers above: the store sits below
the sources (calendar, feeds) and the delivery code, which both write into it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Table, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from crosspost.model import Source, Status


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
    source: str = Source.CALENDAR
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
    progress: str | None = None  # JSON: the steps a multi-step publish has done (a container)
    released: bool = False  # a person released it from a hold: the charter does not stop it
    author: str | None = None  # who wrote it (a calendar's author, a feed item's), once sent
    comment_url: str | None = None  # its first comment, once added (see `Comments`)
    remote_ids: str | None = None  # JSON: every part's id, when the post is a thread
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


class FeedState(SQLModel, table=True):
    """How one feed is doing: what it answered last, and when it is polled next."""

    name: str = Field(primary_key=True, max_length=100)
    url: str = ""
    title: str = ""
    etag: str | None = None
    last_modified: str | None = None
    last_fetch: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    failures: int = 0
    items_seen: int = 0
    next_poll: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SeenItem(SQLModel, table=True):
    """Every item a feed has shown us, posted or not: the guard against reposting."""

    __table_args__ = (UniqueConstraint("feed", "item_key"),)
    id: int | None = Field(default=None, primary_key=True)
    feed: str = Field(index=True, max_length=100)
    item_key: str = Field(max_length=1000)
    canonical: str = Field(index=True, max_length=1000)
    first_seen: datetime = Field(sa_type=UTCDateTime)


class DaemonBeat(SQLModel, table=True):
    """A daemon's sign of life: `crosspost status` tells a live daemon from a dead one by
    it (several may share one PostgreSQL database). `stopped_at` is set by a clean stop; a
    beat that stops without it means the daemon died."""

    worker: str = Field(primary_key=True, max_length=200)  # host:pid
    host: str = Field(max_length=200)
    pid: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    beat_at: datetime = Field(sa_type=UTCDateTime)
    stopped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AlertRow(SQLModel, table=True):
    """One alert for one target: written when its event is first seen (the unique key makes
    a second sighting, after a reload, a retry or by another daemon, a no-op), then sent by
    the alert worker, retried, and kept as sent or given up (never deleted unsent)."""

    __table_args__ = (UniqueConstraint("key", "target"),)
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=300)  # the event: kind, what it is about, which occurrence
    target: str = Field(max_length=100)
    kind: str = Field(max_length=32)
    title: str
    body: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_try_at: datetime = Field(sa_type=UTCDateTime, index=True)
    attempts: int = 0
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    gave_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    attachment: str | None = None  # a file sent with it (the weekly report)


class MeasureState(SQLModel, table=True):
    """When a sent delivery's numbers are collected next (None: never again), and how
    many times they were (the schedule's step)."""

    delivery_id: int = Field(primary_key=True)
    account: str = Field(max_length=100)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    taken: int = 0
    refused: str | None = None  # why the network would not say, last time it was asked


class Snapshot(SQLModel, table=True):
    """What the network said about one delivery at one time; None: it did not say."""

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(index=True)
    taken_at: datetime = Field(sa_type=UTCDateTime)
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    impressions: int | None = None
    saves: int | None = None
    clicks: int | None = None


DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
BEATS: Table = DaemonBeat.__table__  # type: ignore[attr-defined]
ACCOUNTS: Table = AccountState.__table__  # type: ignore[attr-defined]
META: Table = Meta.__table__  # type: ignore[attr-defined]
SEEN: Table = SeenItem.__table__  # type: ignore[attr-defined]
ALERTS: Table = AlertRow.__table__  # type: ignore[attr-defined]
MEASURES: Table = MeasureState.__table__  # type: ignore[attr-defined]
SNAPSHOTS: Table = Snapshot.__table__  # type: ignore[attr-defined]
columns = DELIVERIES.c
"""Typed columns of the deliveries table, for where-clauses: ``columns.status == Status.SENT``."""

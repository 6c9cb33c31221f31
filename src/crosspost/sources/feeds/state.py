"""What each feed has seen and how it is doing, kept in the same database as deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Table, UniqueConstraint, select
from sqlmodel import Field, Session, SQLModel

from crosspost.store import UTCDateTime


class FeedState(SQLModel, table=True):
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


SEEN: Table = SeenItem.__table__  # type: ignore[attr-defined]


def load_state(engine: Engine, name: str) -> FeedState | None:
    with Session(engine) as session:
        return session.get(FeedState, name)


def save_state(engine: Engine, state: FeedState) -> None:
    with Session(engine) as session:
        session.merge(state)
        session.commit()


def all_states(engine: Engine) -> dict[str, FeedState]:
    with Session(engine) as session:
        return {row.name: row for row in session.scalars(select(FeedState)).all()}


def seen_among(
    engine: Engine, feed: str, keys: list[str], canonicals: list[str]
) -> tuple[set[str], set[str]]:
    """Which of these item keys, and which canonical links, the feed has shown before."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(SEEN.c.item_key, SEEN.c.canonical).where(
                SEEN.c.feed == feed,
                SEEN.c.item_key.in_(keys) | SEEN.c.canonical.in_([c for c in canonicals if c]),
            )
        ).all()
    return {row[0] for row in rows}, {row[1] for row in rows if row[1]}

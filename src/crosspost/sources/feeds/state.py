"""What each feed has seen and how it is doing, kept in the same database as deliveries
(the tables are in `crosspost.store.tables`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, select
from sqlmodel import Session

from crosspost import store
from crosspost.store.tables import SEEN as SEEN
from crosspost.store.tables import FeedState as FeedState


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


def mark_seen(conn: Connection, feed: str, items: Iterable[tuple[str, str]], now: datetime) -> None:
    """Record (item key, canonical link) pairs as seen, in the caller's transaction."""
    rows = [
        {"feed": feed, "item_key": key, "canonical": canonical, "first_seen": now}
        for key, canonical in items
    ]
    if rows:
        conn.execute(store.insert_dialect(conn.engine).insert(SEEN).on_conflict_do_nothing(), rows)

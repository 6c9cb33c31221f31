"""Opening the database: created once, migrated in order, and failing in one clear sentence.

Several daemons started together on an empty PostgreSQL database all try to create the
tables; without a lock most of them die on a unique violation. Creation and migration run
under a lock (PostgreSQL's advisory lock; a lock file beside a SQLite file), and the schema's
version is kept in the `meta` table, so a later change adds a step to `MIGRATIONS` and every
database catches up once.

Only the daemon creates a database (`open_engine`). The commands that read one
(`history`, `retry`, `feeds`...) use `open_existing`, which never creates an empty one in
the wrong place: it says where it looked instead.

A database that cannot be used raises `StoreUnavailable`, whose `temporary` says whether
trying again may help (PostgreSQL unreachable, SQLite locked: exit 75 under systemd, which
restarts) or the config must change (a state dir that is a file, a read-only folder, a
corrupt file, an unknown driver: exit 78, no restart loop).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError
from sqlmodel import SQLModel

from crosspost.errors import StoreUnavailable
from crosspost.store.sqlite_writes import one_writer_at_a_time

SCHEMA_VERSION = 8
_LOCK_KEY = 0x63726F7373  # "cross": the advisory lock every crosspost daemon takes


def _add_parts_column(conn: Connection) -> None:
    """2: the parts of what is being sent, as JSON, so an interrupted delivery can be
    reconciled with exactly what left (its text joins them, which loses the boundaries)."""
    if "parts" not in {c["name"] for c in inspect(conn).get_columns("delivery")}:
        conn.execute(text("ALTER TABLE delivery ADD COLUMN parts TEXT"))


def _add_recheck_column(conn: Connection) -> None:
    """3: a delivery whose last outcome was unknown, and not found on the network, asks the
    network once more before it is sent again."""
    if "recheck" not in {c["name"] for c in inspect(conn).get_columns("delivery")}:
        conn.execute(text("ALTER TABLE delivery ADD COLUMN recheck BOOLEAN NOT NULL DEFAULT FALSE"))


def _add_hold_column(conn: Connection) -> None:
    """4: an account held until a rate limit's reset (the network limits all of it)."""
    if "hold_until" not in {c["name"] for c in inspect(conn).get_columns("accountstate")}:
        conn.execute(text("ALTER TABLE accountstate ADD COLUMN hold_until TIMESTAMP"))


def _add_progress_column(conn: Connection) -> None:
    """5: the steps a multi-step publish has done (Instagram's container), so a restart
    resumes it instead of starting again."""
    if "progress" not in {c["name"] for c in inspect(conn).get_columns("delivery")}:
        conn.execute(text("ALTER TABLE delivery ADD COLUMN progress TEXT"))


def _add_released_and_author_columns(conn: Connection) -> None:
    """6: a delivery a person released from a charter hold is not held again; and who
    wrote each delivery, for `history`."""
    existing = {c["name"] for c in inspect(conn).get_columns("delivery")}
    if "released" not in existing:
        column = "released BOOLEAN NOT NULL DEFAULT FALSE"
        conn.execute(text(f"ALTER TABLE delivery ADD COLUMN {column}"))
    if "author" not in existing:
        conn.execute(text("ALTER TABLE delivery ADD COLUMN author TEXT"))


def _add_comment_column(conn: Connection) -> None:
    """7: where the first comment of a sent delivery is, beside its post's URL."""
    if "comment_url" not in {c["name"] for c in inspect(conn).get_columns("delivery")}:
        conn.execute(text("ALTER TABLE delivery ADD COLUMN comment_url TEXT"))


def _add_results_columns(conn: Connection) -> None:
    """8: a thread's part ids (its numbers are collected from each), and an alert's
    attachment (the weekly report). The results' own tables are created as new ones."""
    if "remote_ids" not in {c["name"] for c in inspect(conn).get_columns("delivery")}:
        conn.execute(text("ALTER TABLE delivery ADD COLUMN remote_ids TEXT"))
    if "attachment" not in {c["name"] for c in inspect(conn).get_columns("alertrow")}:
        conn.execute(text("ALTER TABLE alertrow ADD COLUMN attachment TEXT"))


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _add_parts_column,
    3: _add_recheck_column,
    4: _add_hold_column,
    5: _add_progress_column,
    6: _add_released_and_author_columns,
    7: _add_comment_column,
    8: _add_results_columns,
}


def open_engine(url: str) -> Engine:
    """The daemon's database, created or migrated if needed; StoreUnavailable if unusable."""
    try:
        engine = _engine(url, create=True)
        with _schema_lock(engine, url) as conn:
            import crosspost.store.tables  # noqa: F401 - registers every table

            fresh = not engine.dialect.has_table(conn, "delivery")
            SQLModel.metadata.create_all(conn)
            _migrate(conn, fresh)
    except StoreUnavailable:
        raise
    except Exception as exc:
        raise _unavailable(url, exc) from exc
    return engine


def open_existing(url: str) -> Engine | None:
    """An existing database for reading and settling, never a new one; None if absent."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    try:
        engine = _engine(url, create=False)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise _unavailable(url, exc) from exc
    return engine


def _engine(url: str, create: bool) -> Engine:
    if not url.startswith("sqlite:///"):
        return create_engine(url, pool_pre_ping=True)
    path = Path(url.removeprefix("sqlite:///"))
    if create:
        if path.parent.exists() and not path.parent.is_dir():
            raise StoreUnavailable(f"the state dir {path.parent} is a file, not a folder", False)
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(conn: Any, _record: Any) -> None:
        cursor = conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    one_writer_at_a_time(engine)
    return engine


@contextmanager
def _schema_lock(engine: Engine, url: str) -> Iterator[Connection]:
    """One creator at a time, across processes (and hosts, on PostgreSQL)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            yield conn
        return
    lock = Path(url.removeprefix("sqlite:///") + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with engine.begin() as conn:
            yield conn
    finally:
        os.close(fd)


def _migrate(conn: Connection, fresh: bool) -> None:
    """Run the steps after the database's version; a database just created is current (and
    the daemon does not load SQLAlchemy's reflection, a megabyte, to find that out)."""
    from crosspost.store.tables import META

    row = conn.execute(META.select().where(META.c.key == "schema_version")).first()
    version = int(row.value) if row else (SCHEMA_VERSION if fresh else 1)
    if version > SCHEMA_VERSION:
        raise StoreUnavailable(
            f"the database has schema {version}, made by a newer crosspost than this one "
            f"(schema {SCHEMA_VERSION}); upgrade crosspost",
            False,
        )
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
    if row is None:
        conn.execute(META.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
    elif version != SCHEMA_VERSION:
        conn.execute(
            META.update().where(META.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
        )


def _unavailable(url: str, exc: BaseException) -> StoreUnavailable:
    """One sentence for a person, and whether waiting may fix it."""
    where = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else _no_password(url)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if isinstance(exc, (NoSuchModuleError, ArgumentError)):
        return StoreUnavailable(f"unknown database URL {where!r}: {detail}", False)
    if isinstance(exc, OSError):
        return StoreUnavailable(f"cannot use the state dir for {where}: {exc.strerror}", False)
    if "locked" in detail:
        return StoreUnavailable(f"the database {where} is locked by another program", True)
    if url.startswith("sqlite:///"):
        if isinstance(exc, OperationalError) and "unable to open" in detail:
            return StoreUnavailable(f"cannot open {where}: its folder is not writable", False)
        if isinstance(exc, DatabaseError):
            return StoreUnavailable(
                f"{where} is not a usable SQLite database ({detail}); move it aside", False
            )
        return StoreUnavailable(f"cannot open {where}: {detail}", False)
    return StoreUnavailable(f"cannot reach the database {where}: {detail}", True)


def _no_password(url: str) -> str:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]

"""What `check` verifies beyond the files: the state dir, the database, forgotten dates.

The daemon would find these only at start (a state dir that is a file, a corrupt database)
or never say them (a post whose `at` passed before anyone noticed). None of this writes:
`check` opens an existing database read-only and never creates one. PostgreSQL is contacted
only with `--online`, so a teammate's clone without access to it can still run `check`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from crosspost.config.problems import Problem
from crosspost.config.settings import Config
from crosspost.errors import StoreUnavailable
from crosspost.model import Status
from crosspost.sources.calendar import ONCE, Post
from crosspost.timeutil import format_duration

if TYPE_CHECKING:
    from sqlalchemy import Engine

FAR = timedelta(days=180)


def storage_problems(config: Config, online: bool) -> tuple[list[Problem], Engine | None]:
    """Problems with the state dir and the database, and the database if it can be read."""
    problems = []
    explicit = "state_dir" in config.daemon.model_fields_set or bool(config.systemd_state_dir)
    severity = "error" if explicit else "warning"
    folder = config.state_dir
    why = _folder_problem(folder)
    if why:
        problems.append(config.problem("daemon", 0, "state_dir", why).with_severity(severity))
    url = config.database_url
    sqlite = url.startswith("sqlite:///")
    if (sqlite and not Path(url.removeprefix("sqlite:///")).exists()) or (
        not sqlite and not online
    ):
        return problems, None  # nothing to read (and SQLAlchemy stays unimported: 0.3 s)
    from sqlalchemy import text

    from crosspost.store.schema import open_existing

    try:
        engine = open_existing(url)
        if engine is not None and engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                verdict = conn.execute(text("PRAGMA quick_check")).scalar()
            if verdict != "ok":
                raise StoreUnavailable(
                    f"{url.removeprefix('sqlite:///')} is damaged: {verdict}", False
                )
    except StoreUnavailable as exc:
        problems.append(config.problem("daemon", 0, "database", str(exc)))
        return problems, None
    return problems, engine


def _folder_problem(folder: Path) -> str:
    if folder.exists() and not folder.is_dir():
        return f"the state dir {folder} is a file; it must be a folder the daemon can write"
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        verb = "write to" if existing == folder else f"create {folder} in"
        return f"the daemon cannot {verb} {existing} (as this user); fix its owner or mode"
    return ""


def forgotten_dates(
    config: Config, posts: Iterable[Post], engine: Engine | None, now: datetime
) -> list[Problem]:
    """Warnings for `at` posts that passed without being published (known from the database),
    or, without one, that lie far in the past (a year typed wrong?)."""
    cutoff = now - config.catch_up
    past = [
        (post, post.at)
        for post in posts
        if not post.draft and post.at is not None and post.at < cutoff
    ]
    published = _published(engine, [post.id for post, _ in past]) if engine else None
    problems = []
    for post, at in past:
        days = (now - at).days
        if published is not None and post.id not in published:
            message = (
                f"at is {days} day(s) in the past and this post was never published (it was "
                f"later than catch_up = {format_duration(config.catch_up)} when the daemon saw "
                "it); fix the date, or remove the entry"
            )
        elif published is None and now - at > FAR:
            message = f"at is {days} days in the past: is the year right? If it went out, remove it"
        else:
            continue
        problems.append(Problem(post.file, post.line, "post.at", message, "warning"))
    return problems


def _published(engine: Engine, post_ids: list[str]) -> set[str]:
    """Post ids with a delivery that went out or may still go out (not missed, cancelled)."""
    if not post_ids:
        return set()
    from sqlalchemy import select

    from crosspost import store

    query = select(store.columns.post_id).where(
        store.columns.post_id.in_(post_ids),
        store.columns.occurrence == ONCE,
        store.columns.status.not_in((Status.MISSED, Status.CANCELLED)),
    )
    with engine.connect() as conn:
        return set(conn.execute(query).scalars())


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def metrics_problems(config: Config) -> list[Problem]:
    """`[daemon] metrics`: an address this machine cannot bind (in use by something else, or
    not its own), and a warning for one anybody on the network can read."""
    if not config.daemon.metrics:
        return []
    import socket

    from crosspost.config.alerts import metrics_address

    host, port = metrics_address(config.daemon.metrics)
    found = []
    if host not in LOOPBACK:
        found.append(config.problem("daemon", 0, "metrics", f"{host} is not loopback: anyone "
                     "who reaches this host reads the metrics; prefer 127.0.0.1 behind a "
                     "proxy").with_severity("warning"))  # fmt: skip
    try:
        with socket.create_server((host, port), family=_family(host)):
            pass
    except OSError as exc:
        if _serves_crosspost(host, port):
            note = f"{host}:{port} already serves crosspost's metrics (the running daemon)"
            found.append(config.problem("daemon", 0, "metrics", note).as_note())
        else:
            found.append(config.problem("daemon", 0, "metrics", f"the daemon cannot serve "
                         f"metrics on {host}:{port}: {exc.strerror or exc}; choose a free "
                         "port (ss -ltnp shows who holds it)"))  # fmt: skip
    return found


def _family(host: str) -> int:
    import socket

    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _serves_crosspost(host: str, port: int) -> bool:
    from urllib.request import urlopen

    where = f"[{host}]" if ":" in host else host
    try:
        with urlopen(f"http://{where}:{port}/metrics", timeout=2) as answer:
            return b"crosspost_deliveries" in answer.read(1_000_000)
    except (OSError, ValueError):
        return False

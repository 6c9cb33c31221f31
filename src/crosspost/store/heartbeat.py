"""Daemons' heartbeats: each running daemon says it is alive, about once a minute.

`crosspost status` reads them to answer "is anything publishing?", for people and for
monitoring. A daemon is alive when it beat within `ALIVE_WITHIN` and did not say it
stopped; on the same host, a process that is gone is dead at once (a kill -9 leaves a
fresh beat behind). Rows of daemons stopped long ago are kept, so status can say when the
last one was seen; a restart of the same host:pid overwrites its row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from crosspost.store.tables import BEATS, DaemonBeat

BEAT_EVERY = timedelta(seconds=15)  # at most; the daemon's minute tick beats at least
ALIVE_WITHIN = timedelta(minutes=3)  # three missed housekeeping minutes: dead


def beat(engine: Engine, host: str, pid: int, now: datetime, started: datetime) -> None:
    with Session(engine) as session:
        row = DaemonBeat(worker=f"{host}:{pid}", host=host, pid=pid, started_at=started,
                         beat_at=now, stopped_at=None)  # fmt: skip
        session.merge(row)
        session.commit()


def stopped(engine: Engine, host: str, pid: int, now: datetime) -> None:
    """A clean stop: the daemon is not alive any more, and did not die."""
    with Session(engine) as session:
        row = session.get(DaemonBeat, f"{host}:{pid}")
        if row is not None:
            row.stopped_at = now
            session.add(row)
            session.commit()


def daemons(engine: Engine) -> Sequence[DaemonBeat]:
    """Every daemon that ever beat, the latest beat first."""
    with Session(engine) as session:
        return session.scalars(select(DaemonBeat).order_by(BEATS.c.beat_at.desc())).all()


def is_alive(row: DaemonBeat, now: datetime, this_host: str) -> bool:
    if row.stopped_at is not None or now - row.beat_at > ALIVE_WITHIN:
        return False
    return row.host != this_host or _running(row.pid)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process (the service's): it exists
        return True
    return True

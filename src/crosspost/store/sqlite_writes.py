"""One SQLite writer at a time within the process, queued on a lock instead of SQLite's
busy handler.

SQLite lets one transaction write at a time. The others wait in its busy handler, which
sleeps in steps that grow to 100 ms whatever happens meanwhile: when 50 lanes finish their
publishes together, most of them sleep past the moment the database is free again (bench:
the 500-post burst). Within this process, writers now wait on a lock, each woken as soon
as the writer before it is done. Other processes (the CLI, a second daemon) still meet the
busy handler, as before. PostgreSQL needs none of this: its row locks are fine-grained.

The lock is taken before a transaction's first write statement and given back when its
connection returns to the pool, after the commit or the rollback. Taking it is bounded: a
writer that never gave it back (a bug) costs the others 30 s each, never a deadlock.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from sqlalchemy import Engine, event

WAIT_AT_MOST = 30.0  # seconds, as SQLite's own busy_timeout
_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)
_HELD = "crosspost.write_lock"


def one_writer_at_a_time(engine: Engine) -> None:
    lock = threading.Lock()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        if _HELD in conn.info or not _WRITE.match(statement):
            return
        if lock.acquire(timeout=WAIT_AT_MOST):
            conn.info[_HELD] = lock

    @event.listens_for(engine.pool, "checkin")
    def _after_transaction(dbapi_connection: Any, record: Any) -> None:
        held = record.info.pop(_HELD, None) if record is not None else None
        if held is not None:
            held.release()

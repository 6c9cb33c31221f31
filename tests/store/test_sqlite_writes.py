"""SQLite writers of one process queue on a lock: many lanes finishing at once all land,
and a transaction that fails gives the lock back."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from crosspost import store
from crosspost.delivery import claims
from crosspost.store.schema import open_engine


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return open_engine(f"sqlite:///{tmp_path / 'crosspost.db'}")


def test_fifty_threads_claiming_and_finishing_at_once_all_land(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    rows = [
        {"key": f"k{a}-{n}", "post_id": f"p{n}", "occurrence": "", "account": f"a{a}",
         "due_at": now, "next_attempt_at": now, "status": "queued", "attempts": 0,
         "updated_at": now}
        for a in range(50) for n in range(4)
    ]  # fmt: skip
    store.insert_new(engine, rows)
    errors: list[BaseException] = []

    def lane(account: str) -> None:
        try:
            while taken := claims.claim_many(engine, now, "w:1", (), 1, account):
                assert claims.finish(engine, taken[0].id or 0, "w:1", now, status="sent")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=lane, args=(f"a{a}",)) for a in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert {d.status for d in store.deliveries(engine)} == {"sent"}
    assert len(store.deliveries(engine)) == 200


def test_a_failed_write_transaction_gives_the_lock_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("UPDATE delivery SET reason = 'x'"))
        raise RuntimeError("the transaction fails after its first write")
    done = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE delivery SET reason = 'y'"))
        done.set()

    threading.Thread(target=write, daemon=True).start()
    assert done.wait(timeout=10)  # a lock kept by the failed one would hold it for 30 s

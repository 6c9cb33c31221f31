"""Claiming is atomic: concurrent workers never take the same delivery twice.

Runs on a real SQLite file, and on PostgreSQL when CROSSPOST_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crosspost import store
from crosspost.delivery import claims
from crosspost.model import Occurrence, Source, Status, feed_post_id

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        yield store.open_engine(f"sqlite:///{tmp_path / 'state.db'}")
        return
    engine = store.open_engine(request.getfixturevalue("pg_url"))
    yield engine
    engine.dispose()


def rows(count: int, account: str = "a") -> list[dict[str, object]]:
    return [
        {
            "key": f"p{i}|once|{account}",
            "post_id": f"p{i}",
            "occurrence": "once",
            "account": account,
            "due_at": NOW,
            "next_attempt_at": NOW,
            "updated_at": NOW,
        }
        for i in range(count)
    ]


def test_insert_is_idempotent_on_the_key(engine: Engine) -> None:
    assert store.insert_new(engine, rows(5)) == 5
    assert store.insert_new(engine, rows(5)) == 0
    assert len(store.deliveries(engine)) == 5


def test_concurrent_claims_take_each_delivery_exactly_once(engine: Engine) -> None:
    store.insert_new(engine, rows(200))

    def worker(name: str) -> list[int]:
        taken = []
        while (delivery := claims.claim(engine, NOW, name)) is not None:
            assert delivery.id is not None
            taken.append(delivery.id)
        return taken

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, [f"w{i}" for i in range(8)]))
    claimed = [i for taken in results for i in taken]
    assert len(claimed) == 200 and len(set(claimed)) == 200
    assert {d.status for d in store.deliveries(engine)} == {"sending"}


def test_claim_respects_next_attempt_and_paused_accounts(engine: Engine) -> None:
    later = rows(1, "later")
    later[0]["next_attempt_at"] = NOW + timedelta(minutes=5)
    store.insert_new(engine, later + rows(1, "paused"))
    store.pause_account(engine, "paused", "AuthError: expired", NOW)
    assert claims.claim(engine, NOW, "w") is None
    # the paused account's row waits for a person: it must not wake the daemon now
    assert claims.next_attempt(engine, NOW) == NOW + timedelta(minutes=5)
    claimed = claims.claim(engine, NOW + timedelta(minutes=5), "w")
    assert claimed is not None and claimed.account == "later" and claimed.attempts == 1


def test_only_the_claimer_records_the_outcome_once(engine: Engine) -> None:
    store.insert_new(engine, rows(1))
    claimed = claims.claim(engine, NOW, "w1")
    assert claimed is not None and claimed.id is not None
    assert not claims.finish(engine, claimed.id, "w2", NOW, status="sent")
    assert claims.finish(engine, claimed.id, "w1", NOW, status="sent")
    assert not claims.finish(engine, claimed.id, "w1", NOW, status="failed")
    [row] = store.deliveries(engine)
    assert row.status == "sent" and row.due_at == NOW


def test_occurrences_from_either_source_become_deliveries_once(engine: Engine) -> None:
    later = NOW + timedelta(hours=1)
    due = [
        Occurrence(Source.CALENDAR, "bread", "once", "x", NOW),
        Occurrence(Source.CALENDAR, "bread", "once", "li", NOW, missed="late by 3h"),
        Occurrence(Source.FEED, feed_post_id("blog"), "ab12", "x", later, {"title": "T"}),
    ]
    made = store.add_occurrences(engine, due, NOW)
    assert sorted(made) == ["bread|once|li", "bread|once|x", "feed:blog|ab12|x"]
    assert store.add_occurrences(engine, due, NOW) == {}  # the same occurrences: nothing new
    rows_by_key = {row.key: row for row in store.deliveries(engine)}
    assert rows_by_key["bread|once|li"].status == Status.MISSED
    assert rows_by_key["bread|once|li"].reason == "late by 3h"
    feed_row = rows_by_key["feed:blog|ab12|x"]
    assert (feed_row.source, feed_row.status, feed_row.next_attempt_at) == ("feed", "queued", later)
    assert json.loads(feed_row.payload or "") == {"title": "T"}


def test_occurrences_join_the_callers_transaction(engine: Engine) -> None:
    """A feed marks items seen and queues them in one transaction: a failure undoes both."""
    with pytest.raises(RuntimeError), engine.begin() as conn:
        store.add_occurrences(conn, [Occurrence(Source.CALENDAR, "p", "once", "x", NOW)], NOW)
        raise RuntimeError("the rest of the transaction failed")
    assert store.deliveries(engine) == []

"""Collecting the networks' numbers: the schedule after each post went out, driven by the
manual clock; batches as large as the adapter takes; missing numbers kept missing; a thread
summed to one post; a refusal recorded once, a rate limit waited out. Real HTTP over a local
socket, a real SQLite file."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crosspost import logs, store
from crosspost.alerts import events
from crosspost.results.collect import Collector
from crosspost.service.runtime import Runtime
from crosspost.store.tables import MEASURES, SNAPSHOTS
from crosspost.timeutil import ManualClock

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def calendar(count: int) -> str:
    return "".join(
        f'[[post]]\nid = "p{n}"\nat = 2026-03-02T09:00:00\naccounts = ["talk"]\ntext = "Post {n}"\n'
        for n in range(count)
    )


@pytest.fixture
def site(talk_site):  # type: ignore[no-untyped-def]
    def make(count: int = 1, extra: str = "") -> Path:
        return talk_site(calendar(count), extra)  # type: ignore[no-any-return]

    return make


def sent(site, clock: ManualClock, count: int = 1, extra: str = "") -> tuple[Runtime, Collector]:  # type: ignore[no-untyped-def]
    runtime = Runtime(site(count, extra), clock)
    clock.set(NINE)
    runtime.tick(threading.Event())
    assert {d.status for d in store.deliveries(runtime.engine)} == {"sent"}
    return runtime, Collector(runtime.engine, clock, lambda: runtime.setup)


def snapshots(runtime: Runtime) -> list[dict[str, object]]:
    with runtime.engine.connect() as conn:
        return [
            dict(row._mapping) for row in conn.execute(select(SNAPSHOTS).order_by(SNAPSHOTS.c.id))
        ]


def lookups(net) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["path"] for r in net.requests if r["path"].startswith("/metrics")]


def test_each_post_is_measured_at_1h_1d_7d_then_weekly_for_a_month(site, net, clock) -> None:
    runtime, collector = sent(site, clock)
    [delivery] = store.deliveries(runtime.engine)
    net.metrics[delivery.remote_id] = {"likes": 3, "replies": 1}
    clock.set(NINE + timedelta(minutes=59))
    assert collector.cycle() == 0 and lookups(net) == []  # enrolled, not due yet
    taken = []
    for after in ("1h", "1d", "7d", "14d", "21d", "28d"):
        amount, unit = int(after[:-1]), after[-1]
        clock.set(NINE + (timedelta(hours=amount) if unit == "h" else timedelta(days=amount)))
        assert collector.cycle() == 1
        taken.append(clock())
        assert collector.cycle() == 0  # once per step, whatever the job's pace
    clock.set(NINE + timedelta(days=90))
    assert collector.cycle() == 0
    rows = snapshots(runtime)
    assert [r["taken_at"] for r in rows] == taken
    assert rows[0]["likes"] == 3 and rows[0]["replies"] == 1
    assert rows[0]["impressions"] is None and rows[0]["saves"] is None  # not given: missing
    with runtime.engine.connect() as conn:
        state = conn.execute(select(MEASURES)).one()
    assert state.taken == 6 and state.next_at is None


def test_batches_are_as_large_as_the_adapter_takes(site, net, clock) -> None:
    runtime, collector = sent(site, clock, count=5)
    for delivery in store.deliveries(runtime.engine):
        net.metrics[delivery.remote_id] = {"likes": 1}
    collector.cycle()
    clock.set(NINE + timedelta(hours=1))
    assert collector.cycle() == 5
    assert [path.count(",") + 1 for path in lookups(net)] == [3, 2]


def test_a_thread_is_summed_to_one_post(site, net, clock) -> None:
    runtime, collector = sent(site, clock)
    [delivery] = store.deliveries(runtime.engine)
    store.set_status(runtime.engine, store.columns.id == delivery.id, clock(),
                     remote_ids=json.dumps([delivery.remote_id, "77", "78"]))  # fmt: skip
    net.metrics |= {delivery.remote_id: {"likes": 5}, "77": {"likes": 2, "replies": 1}, "78": {}}
    collector.cycle()
    clock.set(NINE + timedelta(hours=1))
    collector.cycle()
    [row] = snapshots(runtime)
    assert row["likes"] == 7 and row["replies"] == 1 and row["reposts"] is None


def test_a_deleted_post_is_not_asked_again(site, net, clock) -> None:
    runtime, collector = sent(site, clock)
    collector.cycle()
    clock.set(NINE + timedelta(hours=1))
    collector.cycle()  # the network no longer knows it
    clock.set(NINE + timedelta(days=2))
    collector.cycle()
    assert len(lookups(net)) == 1 and snapshots(runtime) == []


def test_a_refusal_is_recorded_once_and_asked_again_a_day_later(site, net, clock) -> None:
    runtime, collector = sent(site, clock)
    logged = io.StringIO()
    logs.configure("logfmt", "info", logged)
    collector.cycle()
    net.script = [(403, {}, {"error": "missing scope metrics.read"}, 0)] * 2
    for minutes in (60, 61, 62, 120):
        clock.set(NINE + timedelta(minutes=minutes))
        collector.cycle()
    assert len(lookups(net)) == 1  # not retried in a loop
    assert "missing scope metrics.read" in (
        store.get_meta(runtime.engine, "measures:refused:talk") or ""
    )
    with runtime.engine.connect() as conn:
        state = conn.execute(select(MEASURES)).one()
    assert "missing scope metrics.read" in (state.refused or "")
    assert logged.getvalue().count("the network refuses to give its numbers") == 1
    assert state.next_at == NINE + timedelta(hours=1, days=1)
    clock.set(NINE + timedelta(hours=1, days=1))
    collector.cycle()  # refused again: the same reason is not reported twice
    assert len(lookups(net)) == 2
    assert logged.getvalue().count("the network refuses to give its numbers") == 1
    [alert] = events.numbers_refused(runtime.engine)  # one alert, the same at every look
    assert alert.kind == "warning" and alert.title == "No numbers from talk for the reports"
    assert "missing scope metrics.read" in alert.body and "crosspost auth talk" in alert.body
    assert [e.key for e in events.numbers_refused(runtime.engine)] == [alert.key]
    net.metrics[store.deliveries(runtime.engine)[0].remote_id or ""] = {"likes": 1}
    clock.set(NINE + timedelta(hours=1, days=2))
    assert collector.cycle() == 1
    assert events.numbers_refused(runtime.engine) == []  # it gives its numbers again


def test_a_rate_limit_waits_for_its_reset(site, net, clock) -> None:
    runtime, collector = sent(site, clock)
    collector.cycle()
    reset = int((NINE + timedelta(hours=3)).timestamp())
    net.script = [(429, {"x-rate-limit-reset": str(reset)}, {}, 0)]
    clock.set(NINE + timedelta(hours=1))
    collector.cycle()
    clock.set(NINE + timedelta(hours=2))
    collector.cycle()
    assert len(lookups(net)) == 1
    net.metrics[store.deliveries(runtime.engine)[0].remote_id] = {"likes": 1}
    clock.set(NINE + timedelta(hours=3))
    assert collector.cycle() == 1


def test_measure_after_empty_collects_nothing_and_a_bad_schedule_is_an_error(
    site, net, clock, capsys
) -> None:
    from crosspost.cli.main import main

    runtime, collector = sent(site, clock, extra="")
    bad = (
        site(1, extra="")
        .read_text()
        .replace("[daemon]\n", '[daemon]\nmeasure_after = ["7d", "1d"]\n')
    )
    path = runtime.setup.config.path
    path.write_text(bad)
    assert main(["-c", str(path), "check"]) == 78
    out = capsys.readouterr()
    assert "crosspost.toml:" in out.err + out.out and "measure_after" in out.err + out.out
    assert "give increasing durations" in out.err + out.out
    path.write_text(bad.replace('measure_after = ["7d", "1d"]', "measure_after = []"))
    runtime.reload()
    clock.set(NINE + timedelta(days=1))
    assert collector.cycle() == 0 and lookups(net) == []

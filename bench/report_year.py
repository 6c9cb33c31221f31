"""What results cost: `crosspost report` over a busy company's year, and the collector's
run on an idle daemon.

20,000 sent deliveries over a year (5 accounts, 4 authors), 10 snapshots each (200,000
rows). Targets: the table under 2 s, the HTML with its charts under 10 s (the real command,
as a subprocess, wall clock); collecting under 1 % of a core on an idle daemon (one run of
the collector every 60 s, with nothing due and with a batch due).

    python bench/report_year.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ACCOUNTS, machine, write_site
from sqlalchemy import insert

from crosspost import store
from crosspost.results.collect import Collector
from crosspost.service.assembly import load_setup
from crosspost.service.oversight import COLLECT_EVERY
from crosspost.store.tables import MEASURES, SNAPSHOTS

AUTHORS = ("camille", "sam", "lea", "marc")


def fill(config: Path, rows: int, snapshots: int) -> None:
    engine = store.open_engine(f"sqlite:///{config.parent / 'var' / 'crosspost.db'}")
    now = datetime.now(UTC)
    deliveries, states, taken = [], [], []
    for n in range(rows):
        when = now - timedelta(minutes=26 * (rows - n))  # a year, 55 a day
        account = ACCOUNTS[n % len(ACCOUNTS)]
        deliveries.append({
            "id": n + 1, "key": f"p{n}|once|{account}", "source": "calendar", "post_id": f"p{n}",
            "occurrence": "once", "account": account, "due_at": when, "next_attempt_at": when,
            "attempts": 1, "updated_at": when, "status": "sent", "text": f"Post {n} text",
            "remote_id": f"r{n}", "remote_url": f"https://example.com/p/{n}",
            "author": AUTHORS[n % len(AUTHORS)],
        })  # fmt: skip
        states.append({"delivery_id": n + 1, "account": account, "sent_at": when,
                       "next_at": None, "taken": snapshots})  # fmt: skip
        for step in range(snapshots):
            taken.append({"delivery_id": n + 1, "taken_at": when + timedelta(days=step),
                          "likes": n % 50 + step, "replies": n % 7, "reposts": None,
                          "impressions": 100 + n % 900 if n % 3 else None})  # fmt: skip
    store.insert_new(engine, deliveries)
    with engine.begin() as conn:
        conn.execute(insert(MEASURES), states)
        for start in range(0, len(taken), 50_000):
            conn.execute(insert(SNAPSHOTS), taken[start : start + 50_000])
    engine.dispose()


def timed(config: Path, *args: str) -> float:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "crosspost", "-c", str(config), "report", *args],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    took = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return took


def collector_runs(config: Path) -> tuple[float, float]:
    """CPU seconds of one collector run with nothing due, then with 500 deliveries due
    (their adapter, the outbox, cannot measure: they are taken off the schedule)."""
    setup = load_setup(config)
    engine = store.open_engine(setup.config.database_url)
    collector = Collector(engine, lambda: datetime.now(UTC), lambda: setup)
    collector.cycle()  # warm
    began = time.process_time()
    for _ in range(10):
        collector.cycle()
    idle = (time.process_time() - began) / 10
    with engine.begin() as conn:
        conn.execute(MEASURES.update().where(MEASURES.c.delivery_id <= 500)
                     .values(next_at=datetime.now(UTC) - timedelta(minutes=1)))  # fmt: skip
    began = time.process_time()
    collector.cycle()
    return idle, time.process_time() - began


def main() -> None:
    print(f"machine: {machine()}")
    config = write_site(Path(tempfile.mkdtemp(prefix="crosspost-report-")), 0,
                        datetime.now(UTC), timedelta(hours=1))  # fmt: skip
    began = time.perf_counter()
    fill(config, 20_000, 10)
    print(f"filled 20,000 deliveries and 200,000 snapshots in {time.perf_counter() - began:.1f} s")
    for label, args in (
        ("table, by network", ("--since", "365d")),
        ("table, by post", ("--since", "365d", "--by", "post")),
        ("csv, by author", ("--since", "365d", "--by", "author", "--format", "csv")),
        ("html with charts", ("--since", "365d", "--format", "html", "-o",
                              str(config.parent / "report.html"))),
    ):  # fmt: skip
        runs = sorted(timed(config, *args) for _ in range(3))
        print(f"crosspost report, {label}: median {runs[1]:.2f} s (of 3)")
    idle, busy = collector_runs(config)
    print(f"collector run, nothing due: {idle * 1000:.1f} ms CPU; every {COLLECT_EVERY:.0f} s "
          f"that is {idle / COLLECT_EVERY * 100:.3f} % of a core")  # fmt: skip
    print(f"collector run, 500 due: {busy * 1000:.1f} ms CPU")


if __name__ == "__main__":
    main()

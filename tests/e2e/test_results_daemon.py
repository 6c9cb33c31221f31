"""Results in the real daemon: a post sent by an earlier run is measured by the daemon's own
collector job (a snapshot kept in the SQLite file) while the daemon keeps publishing, and
`crosspost report` then shows the network's numbers, with the missing ones as missing."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon_harness import Daemon, post, wait_for
from sqlalchemy import select, update

from crosspost import store
from crosspost.service.runtime import Runtime
from crosspost.store.tables import SNAPSHOTS
from crosspost.timeutil import ManualClock


def test_the_daemon_collects_numbers_that_report_then_shows(
    talk_site, net, tmp_path: Path, daemons
) -> None:
    two_hours_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    calendar = post("bread", two_hours_ago, '"talk"', "Winter bread")
    site = talk_site(calendar)
    runtime = Runtime(site, ManualClock(two_hours_ago))  # an earlier run, two hours ago
    runtime.tick(threading.Event())
    [sent] = [d for d in store.deliveries(runtime.engine) if d.account == "talk"]
    assert sent.status == "sent" and sent.remote_id
    with runtime.engine.begin() as conn:  # it went out two hours ago: its 1 h measure is due
        conn.execute(update(store.DELIVERIES).values(updated_at=two_hours_ago))
    runtime.engine.dispose()
    net.metrics[sent.remote_id] = {"likes": 12, "replies": 3}

    soon = datetime.now(UTC) + timedelta(seconds=3)
    with site.parent.joinpath("calendar.toml").open("a") as more:
        more.write(post("rye", soon, '"box"', "Rye is back"))
    daemons.append(daemon := Daemon(site, tmp_path))
    daemon.messages("READY=1")
    engine = store.open_engine(runtime.setup.config.database_url)

    def snapshot() -> list[object]:
        with engine.connect() as conn:
            return list(conn.execute(select(SNAPSHOTS)))

    wait_for(lambda: snapshot(), timeout=20)  # the collector's first run, 5 s after start
    [row] = snapshot()
    assert (row.likes, row.replies, row.reposts, row.impressions) == (12, 3, None, None)
    assert any("/metrics?ids=" in r["path"] for r in net.requests)
    wait_for(lambda: any(d.post_id == "rye" and d.status == "sent"
                         for d in store.deliveries(engine)), timeout=20)  # fmt: skip
    assert daemon.stop()[0] == 0

    command = [sys.executable, "-m", "crosspost", "-c", str(site), "report", "--since", "1d"]
    done = subprocess.run([*command, "--by", "post", "--format", "json"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    groups = {g["key"]: g for g in json.loads(done.stdout)["groups"]}
    bread = groups["bread → talk"]
    assert bread["likes"] == 12 and bread["replies"] == 3 and bread["reposts"] is None
    assert bread["collected_at"] is not None
    table = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
    assert "commentnet" in table and "outbox" in table
    assert "—" in table  # reposts, impressions: not given, not zero

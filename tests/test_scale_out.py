"""Three daemons share one PostgreSQL; one, on another machine, is killed holding a claim.
Every delivery goes out exactly once, and the dead daemon's claim is taken over by the
others when its lease runs out (seconds here: `[daemon] lease` is configurable)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import crashes
import pytest

POSTS, LEASE = 20, 3.0
ELSEWHERE = 'import socket\nsocket.gethostname = lambda: "peer-elsewhere"\n'  # its own host


@pytest.mark.postgres
def test_three_daemons_one_killed_holding_a_claim(make_site, net, pg_url) -> None:
    net.default = (200, {}, None, 0.4)  # stored at once, answered 0.4 s later
    due = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = make_site(crashes.calendar(POSTS, due), net_url=net.url, database=pg_url)
    path.write_text(
        path.read_text().replace(
            'catch_up = "2h"', f'catch_up = "1d"\nretry_backoff = "1s"\nlease = "{LEASE:g}s"'
        )
    )
    log = path.parent / "daemons.log"
    doomed = crashes.start(path, log, ELSEWHERE)
    others = [crashes.start(path, log) for _ in range(2)]

    def held_and_stored() -> list[crashes.Row]:
        return [
            row
            for row in crashes.rows(pg_url)
            if row.status == "sending"
            and (row.claimed_by or "").startswith("peer-elsewhere:")
            and crashes.copies(net, row)
        ]

    began = time.monotonic()
    while not (caught := held_and_stored()) and time.monotonic() - began < 30:
        time.sleep(0.01)
    doomed.kill()  # the network has its post; its claim stays, on a host nobody can see
    doomed.wait(10)
    killed = time.monotonic()
    assert caught, f"the doomed daemon never held a claim: {crashes.rows(pg_url)}"
    [held] = caught
    while time.monotonic() - killed < LEASE + 10:
        [row] = [row for row in crashes.rows(pg_url) if row.id == held.id]
        if row.status != "sending":
            break
        time.sleep(0.05)
    recovered = time.monotonic() - killed
    outcome = crashes.CrashOutcome(seed=0, kills=1)
    outcome.drain_seconds = crashes.drain(pg_url, others)
    crashes.verdict_on(pg_url, net, path.parent, outcome)
    print(f"claim of delivery {held.id} recovered {recovered:.2f} s after the kill")
    print(outcome.report())
    assert outcome.problems == [] and outcome.deliveries == POSTS * 2, outcome.report()
    assert recovered <= LEASE + 1.0, f"recovered {recovered:.2f} s after the kill"
    assert row.status == "sent" and row.claimed_by != held.claimed_by, row

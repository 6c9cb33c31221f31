"""Three daemons share one PostgreSQL; one, on another machine, is killed holding a claim.
Every delivery goes out exactly once, and the dead daemon's claim is taken over by the
others when its lease runs out (seconds here: `[daemon] lease` is configurable)."""

from __future__ import annotations

from pathlib import Path

import crashes
import pytest

POSTS, LEASE = 20, 3.0


@pytest.mark.postgres
def test_three_daemons_one_killed_holding_a_claim(net, pg_url, tmp_path: Path) -> None:
    path = crashes.site(tmp_path, net, POSTS, 0.4, database=pg_url, lease=f"{LEASE:g}s")
    outcome = crashes.scale_out(path, pg_url, net, daemons=3)
    print(outcome.report())
    assert outcome.problems == [] and outcome.deliveries == POSTS * 2, outcome.report()
    assert outcome.recovered_seconds <= LEASE + 1.0, outcome.report()
    [held] = [row for row in crashes.rows(pg_url) if row.id == outcome.held]
    assert held.status == "sent" and not (held.claimed_by or "").startswith("peer-elsewhere")

"""Nothing lost, nothing doubled, across kill -9s of the daemon (see crashes.py). The seed
is printed; set CROSSPOST_CHAOS_SEED to replay a run. `make chaos` runs the full size."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from pathlib import Path

import crashes
import pytest

KILLS, POSTS = 40, 50  # 100 deliveries


def site(make_site, net, posts: int, delay: float) -> Path:  # type: ignore[no-untyped-def]
    net.default = (200, {}, None, delay)  # stored at once, answered `delay` s later
    due = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path: Path = make_site(crashes.calendar(posts, due), net_url=net.url)
    path.write_text(
        path.read_text().replace('catch_up = "2h"', 'catch_up = "1d"\nretry_backoff = "1s"')
    )
    return path


def test_kill_9_at_random_moments_loses_nothing_and_doubles_nothing(make_site, net) -> None:
    seed = int(os.environ.get("CROSSPOST_CHAOS_SEED") or random.randrange(1_000_000))
    print(f"crash suite seed: {seed} (replay: CROSSPOST_CHAOS_SEED={seed})")
    outcome = crashes.run(site(make_site, net, POSTS, 0.25), net, KILLS, seed)
    print(outcome.report())
    assert outcome.problems == [], outcome.report()
    assert outcome.deliveries == POSTS * 2 and outcome.kills == KILLS, outcome.report()
    assert outcome.caught_stored > 0, "no kill fell between the network's store and our record"


RESENDS_BLINDLY = """
import crosspost.dispatch
from crosspost.settle import Lookup
crosspost.dispatch.look_up = lambda adapter, outgoing, key: Lookup(None, True)
"""
NEVER_ASKS = """
import crosspost.dispatch
from crosspost.settle import Lookup
crosspost.dispatch.look_up = lambda adapter, outgoing, key: Lookup(None, False)
"""


@pytest.mark.parametrize(
    ("sabotage", "broken"),
    [(RESENDS_BLINDLY, "duplicated"), (NEVER_ASKS, "in_doubt")],
    ids=["recovery-resends-without-asking", "recovery-never-asks-the-network"],
)
def test_the_crash_run_reports_a_broken_recovery(make_site, net, sabotage, broken) -> None:
    """The suite is only worth something if it fails: break recovery on purpose."""
    outcome = crashes.run(site(make_site, net, 12, 0.5), net, 6, seed=7, sabotage=sabotage)
    print(outcome.report())
    assert outcome.caught_stored > 0, outcome.report()
    assert getattr(outcome, broken) > 0 and outcome.problems, outcome.report()
    assert any("the net holds" in problem for problem in outcome.problems)

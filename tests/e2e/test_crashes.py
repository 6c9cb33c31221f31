"""Nothing lost, nothing doubled, across kill -9s of the daemon (see crashes.py). The seed
is printed; set CROSSPOST_CHAOS_SEED to replay a run. `make chaos` runs the full size."""

from __future__ import annotations

import os
import random

import crashes
import pytest

KILLS, POSTS = 40, 50  # 100 deliveries


def test_kill_9_at_random_moments_loses_nothing_and_doubles_nothing(net, tmp_path) -> None:
    seed = int(os.environ.get("CROSSPOST_CHAOS_SEED") or random.randrange(1_000_000))
    print(f"crash suite seed: {seed} (replay: CROSSPOST_CHAOS_SEED={seed})")
    outcome = crashes.run(crashes.site(tmp_path, net, POSTS, 0.25), net, KILLS, seed)
    print(outcome.report())
    assert outcome.problems == [], outcome.report()
    assert outcome.deliveries == POSTS * 2 and outcome.kills == KILLS, outcome.report()
    assert outcome.caught_stored > 0, "no kill fell between the network's store and our record"


RESENDS_BLINDLY = """
import crosspost.delivery.dispatch, crosspost.delivery.outcomes
from crosspost.delivery.settle import Lookup
def look_up(adapter, outgoing, key):
    return Lookup(None, True)
crosspost.delivery.dispatch.look_up = crosspost.delivery.outcomes.look_up = look_up
"""
NEVER_ASKS = """
import crosspost.delivery.dispatch, crosspost.delivery.outcomes
from crosspost.delivery.settle import Lookup
def look_up(adapter, outgoing, key):
    return Lookup(None, False)
crosspost.delivery.dispatch.look_up = crosspost.delivery.outcomes.look_up = look_up
"""


@pytest.mark.parametrize(
    ("sabotage", "broken"),
    [(RESENDS_BLINDLY, "duplicated"), (NEVER_ASKS, "in_doubt")],
    ids=["recovery-resends-without-asking", "recovery-never-asks-the-network"],
)
def test_the_crash_run_reports_a_broken_recovery(net, tmp_path, sabotage, broken) -> None:
    """The suite is only worth something if it fails: break recovery on purpose."""
    outcome = crashes.run(crashes.site(tmp_path, net, 12, 0.5), net, 6, seed=7, sabotage=sabotage)
    print(outcome.report())
    assert outcome.caught_stored > 0, outcome.report()
    assert getattr(outcome, broken) > 0 and outcome.problems, outcome.report()
    assert any("the net holds" in problem for problem in outcome.problems)

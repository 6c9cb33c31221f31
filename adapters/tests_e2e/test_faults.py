"""Nothing lost, nothing doubled, under network faults: the outbox and every network's
stand-in, about 30% of publishing requests faulted (see chaos.py). The seed is printed;
set CROSSPOST_CHAOS_SEED to replay a run."""

from __future__ import annotations

import os
import random
from pathlib import Path

from chaos import run

POSTS = 20  # x 8 accounts = 160 deliveries; `make chaos` runs 60 (480 deliveries)


def test_every_delivery_is_on_its_network_once_or_failed_with_a_reason(tmp_path: Path) -> None:
    seed = int(os.environ.get("CROSSPOST_CHAOS_SEED") or random.randrange(1_000_000))
    print(f"fault suite seed: {seed} (replay: CROSSPOST_CHAOS_SEED={seed})")
    outcome = run(tmp_path, POSTS, seed)
    report = "\n".join([f"seed {seed}: {outcome}", *outcome.problems])
    assert outcome.problems == [], report
    assert outcome.deliveries == POSTS * 8 and outcome.in_doubt == 0, report
    assert outcome.faults > 0, report  # the run did meet faults


def test_the_suite_reports_a_blind_retry_as_duplicates(tmp_path: Path, monkeypatch) -> None:
    """Break the guarantee on purpose: a lookup that never finds the post makes every lost
    answer a second post. The suite must say so, naming the posts stored twice."""
    from crosspost.delivery import dispatch, outcomes
    from crosspost.delivery.settle import Lookup

    for module in (dispatch, outcomes):  # before sending again, and after a lost answer
        monkeypatch.setattr(module, "look_up", lambda *args: Lookup(None, True))
    outcome = run(tmp_path, 10, seed=7, rate=0.5)
    doubled = [p for p in outcome.problems if p.count("', '") and "stored [(" in p]
    assert doubled, outcome.problems
    assert any("'lost')" in p or "'slow')" in p for p in doubled)  # which fault caused it


def test_the_suite_reports_requests_before_a_rate_limit_lifts(tmp_path: Path, monkeypatch) -> None:
    """Break it on purpose again: forget to hold the account after a rate limit."""
    from crosspost import store

    monkeypatch.setattr(store, "hold_account", lambda *args: None)
    outcome = run(tmp_path, 10, seed=3, rate=0.5)
    assert any("requests before a rate limit's reset" in p for p in outcome.problems)

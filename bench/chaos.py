"""`make chaos`: the fault, crash and scale-out runs of the test suite, at full size.

python bench/chaos.py [--seed N] [--kills 200] [--posts 150] [--fault-posts 60] [--delay 0.4]

- faults: every network's stand-in and the outbox, 30% of publishing requests faulted,
  60 posts x 8 accounts = 480 deliveries (adapters/tests_e2e/chaos.py);
- crashes: the daemon killed with SIGKILL 200 times while it publishes 150 posts to the
  outbox and the test network, 300 deliveries (tests/e2e/crashes.py); the network answers in
  0.4 s, so that the work lasts until about the last kill;
- scale-out: three daemons on one PostgreSQL, one killed holding a claim, 3 s lease (only
  when CROSSPOST_TEST_DATABASE_URL names a database to use).

Results go to stdout and to the "Chaos results" section of bench/README.md, with the machine
and the date. The exit status is 1 when a run found a problem (the problems are printed,
with the seed that replays them: CROSSPOST_CHAOS_SEED=N for the test suite's runs).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import uuid
from pathlib import Path

from common import machine

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
sys.path[:0] = [str(TESTS), str(TESTS / "e2e"), str(HERE.parent / "adapters" / "tests_e2e")]

import chaos as faults  # noqa: E402 - the suite's own runs, at full size
import crashes  # noqa: E402
from conftest import ScriptedServer  # noqa: E402

MARK, NEXT = "## Chaos results", "## Latest results"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=random.randrange(1_000_000))
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--posts", type=int, default=150)
    parser.add_argument("--fault-posts", type=int, default=60)
    parser.add_argument("--delay", type=float, default=0.4, help="the network's answer time")
    args = parser.parse_args()
    lines, problems = [f"seed {args.seed}; {machine()}"], []
    with tempfile.TemporaryDirectory() as folder:
        fault = faults.run(Path(folder), args.fault_posts, args.seed)
    lines.append(
        f"faults: {fault.deliveries} deliveries to {len(faults.NETWORKS) + 1} accounts, "
        f"{fault.faults} faults injected; {fault.sent} sent, {fault.failed} failed with a reason, "
        f"{fault.in_doubt} in_doubt; {len(fault.problems)} problems; {fault.seconds:.0f} s"
    )
    problems += fault.problems
    crash = _crash_run(args)
    lines.append(
        f"crashes: {crash.deliveries} deliveries, {crash.kills} kills "
        f"({crash.caught_sending} left a delivery sending, {crash.caught_stored} after the "
        f"network had stored it); lost {crash.lost}, duplicated {crash.duplicated}, "
        f"in_doubt left {crash.in_doubt}; sent {crash.sent}; {crash.run_seconds:.0f} s in all, "
        f"{crash.drain_seconds:.1f} s to drain after the last kill"
    )
    problems += crash.problems
    if os.environ.get("CROSSPOST_TEST_DATABASE_URL"):
        scale = _scale_out(os.environ["CROSSPOST_TEST_DATABASE_URL"])
        lines.append(
            f"scale-out: 3 daemons on PostgreSQL, {scale.deliveries} deliveries, 1 killed "
            f"holding a claim the network had stored; its claim settled "
            f"{scale.recovered_seconds:.1f} s after the kill (lease 3 s); lost {scale.lost}, "
            f"duplicated {scale.duplicated}, in_doubt {scale.in_doubt}"
        )
        problems += scale.problems
    else:
        lines.append("scale-out: skipped (set CROSSPOST_TEST_DATABASE_URL to run it)")
    lines += [f"PROBLEM: {problem}" for problem in problems]
    print("\n".join(lines))
    _write_readme(lines)
    return 1 if problems else 0


def _crash_run(args: argparse.Namespace) -> crashes.CrashOutcome:
    net = ScriptedServer()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = crashes.site(Path(folder), net, args.posts, args.delay)
            return crashes.run(path, net, args.kills, args.seed)
    finally:
        net.close()


def _scale_out(base: str) -> crashes.ScaleOutOutcome:
    """On a schema of its own, dropped afterwards."""
    from sqlalchemy import create_engine, text

    schema = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    net = ScriptedServer()
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = crashes.site(Path(folder), net, 60, 0.4, database=url, lease="3s")
            return crashes.scale_out(path, url, net, daemons=3)
    finally:
        net.close()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _write_readme(lines: list[str]) -> None:
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = f"{MARK}\n\nWritten by `bench/chaos.py` (`make chaos`):\n\n```\n" + "\n".join(lines)
    block += "\n```\n\n"
    if MARK in text:
        text = re.sub(rf"{MARK}.*?(?={NEXT}|\Z)", lambda _: block, text, flags=re.S)
    elif NEXT in text:
        text = text.replace(NEXT, block + NEXT)
    else:
        text += "\n" + block
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())

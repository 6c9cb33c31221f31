"""The crash run shared by the test suite (small) and `make chaos` (full size).

The real daemon, as a subprocess, publishes a batch of posts to the outbox and to the test
network while it is killed with SIGKILL at random moments (while it starts and claims, while
a post is on its way, after the network stored a post and before the daemon recorded it)
and started again each time. After every kill the SQLite database must pass its integrity
check. Then a last daemon runs until nothing is queued or sending, and the network's ledger
is compared with the deliveries: 0 lost, 0 stored twice, 0 stuck in `sending`.

The network stores each post before it answers, and answers after a short delay, so a kill
often falls between the two: exactly the case the daemon must settle by asking.

A `sabotage` is Python run in the daemon before it starts: the tests use it to break one
guarantee on purpose and show that the run reports it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from crosspost.testing import ScriptedHTTPServer


class Row(NamedTuple):
    id: int
    post_id: str
    account: str
    status: str
    remote_id: str | None
    reason: str | None
    claimed_by: str | None


@dataclass
class CrashOutcome:
    seed: int
    deliveries: int = 0
    kills: int = 0
    caught_sending: int = 0  # kills that left a delivery in `sending`
    caught_stored: int = 0  # ... whose post the network had already stored
    sent: int = 0
    in_doubt: int = 0
    lost: int = 0
    duplicated: int = 0
    drain_seconds: float = 0.0  # from the last start to everything settled
    run_seconds: float = 0.0  # from the first start
    problems: list[str] = field(default_factory=list)

    def report(self) -> str:
        head = {k: v for k, v in vars(self).items() if k != "problems"}
        return "\n".join([f"crash run {head}", *self.problems])


def token(n: int) -> str:
    return f"crash{n:04d}"


def calendar(posts: int, due: str) -> str:
    return "".join(
        f'[[post]]\nid = "c{n}"\nat = {due}\naccounts = ["box", "net"]\n'
        f'text = "Batch {token(n)} is out of the oven."\n\n'
        for n in range(posts)
    )


def site(folder: Path, net: ScriptedHTTPServer, posts: int, delay: float, **settings: str) -> Path:
    """The test site (an outbox and the test network), `posts` posts due now, and a network
    that stores each post at once and answers `delay` seconds later. `settings` go to
    [daemon], as strings: short retry backoff and catch-up by default."""
    from conftest import write_site

    net.default = (200, {}, None, delay)
    due = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    database = settings.pop("database", "")
    path = write_site(folder, calendar(posts, due), net_url=net.url, database=database)
    daemon = {"catch_up": "1d", "retry_backoff": "1s", **settings}
    lines = "".join(f'{key} = "{value}"\n' for key, value in daemon.items())
    path.write_text(path.read_text().replace('catch_up = "2h"\n', lines))
    return path


def start(config: Path, log: Path, sabotage: str = "") -> subprocess.Popen[bytes]:
    """The daemon as `crosspost -c CONFIG run` would start it (plus the sabotage, if any)."""
    code = f"{sabotage}\nfrom crosspost.cli.main import main\nraise SystemExit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "-c", str(config), "run"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def run(
    config: Path, net: ScriptedHTTPServer, kills: int, seed: int, sabotage: str = ""
) -> CrashOutcome:
    """Kill the daemon `kills` times at random moments, then let one run to completion."""
    rng, began = random.Random(seed), time.monotonic()
    outcome = CrashOutcome(seed)
    database = config.parent / "var" / "crosspost.db"
    url = f"sqlite:///{database}"
    log = config.parent / "daemons.log"
    for _ in range(kills):
        readies = _readies(log)
        daemon = start(config, log, sabotage)
        if rng.random() < 0.3:  # while it starts: loads, recovers the last one's claims
            time.sleep(rng.uniform(0.2, 1.5))
        else:  # while it publishes
            _wait_for(log, readies, daemon)
            time.sleep(rng.uniform(0.0, 0.8))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
        outcome.kills += 1
        if not database.exists():
            continue
        verdict = sqlite3.connect(database).execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            outcome.problems.append(f"after kill {outcome.kills}: integrity check: {verdict}")
        caught = [row for row in rows(url) if row.status == "sending"]
        outcome.caught_sending += bool(caught)
        outcome.caught_stored += any(copies(net, row) for row in caught)
    outcome.drain_seconds = drain(url, [start(config, log, sabotage)])
    outcome.run_seconds = time.monotonic() - began
    verdict_on(url, net, config.parent, outcome)
    return outcome


def _readies(log: Path) -> int:
    return log.read_bytes().count(b"event=ready") if log.exists() else 0


def _wait_for(log: Path, readies: int, daemon: subprocess.Popen[bytes]) -> None:
    """Until this daemon says it is ready (or died, or 15 s passed)."""
    began = time.monotonic()
    while _readies(log) <= readies and daemon.poll() is None:
        if time.monotonic() - began > 15:
            return
        time.sleep(0.02)


def drain(url: str, daemons: list[subprocess.Popen[bytes]], limit: float = 120.0) -> float:
    """Let the daemons run until every delivery is settled; stop them; return how long."""
    began = time.monotonic()
    try:
        while time.monotonic() - began < limit:
            found = rows(url)
            if found and all(row.status not in ("queued", "sending") for row in found):
                break
            time.sleep(0.2)
    finally:
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            daemon.wait(15)
    return time.monotonic() - began


_engines: dict[str, Engine] = {}


def rows(url: str) -> list[Row]:
    """(id, post, account, status, remote id, reason, claimed by) of every delivery."""
    engine = _engines.setdefault(url, create_engine(url, poolclass=NullPool))
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text(
                    "SELECT id, post_id, account, status, remote_id, reason, claimed_by "
                    "FROM delivery ORDER BY id"
                )
            ).all()
    except Exception:  # no schema yet: the first daemon was killed before it made one
        return []
    return [Row(*row) for row in found]


def copies(net: ScriptedHTTPServer, row: Row) -> list[tuple[str, str | None]]:
    """What the network stored for this delivery: (remote id, fault) of each copy."""
    tag = token(int(row.post_id[1:]))
    return [(post.remote_id, post.fault) for post in net.ledger.accepted if tag in post.text]


def verdict_on(url: str, net: ScriptedHTTPServer, folder: Path, outcome: CrashOutcome) -> None:
    """Compare what crosspost believes with what the outbox and the network hold."""
    found = rows(url)
    outcome.deliveries = len(found)
    for row in found:
        ident, post_id, account, status, remote_id, reason, _ = row
        outcome.sent += status == "sent"
        outcome.in_doubt += status == "in_doubt"
        if account == "box":
            stored = list((folder / "var" / "outbox" / "box").glob(f"{post_id}_*.txt"))
            held: list[tuple[str, str | None]] = [(path.name, None) for path in stored]
        else:
            held = copies(net, row)
        outcome.lost += not held
        outcome.duplicated += len(held) > 1
        right = len(held) == 1 and (account == "box" or held[0][0] == remote_id)
        if status != "sent" or not right:
            outcome.problems.append(
                f"delivery {ident} ({post_id} to {account}): {status} as {remote_id} "
                f"({reason}); the {account} holds {held}"
            )


ELSEWHERE = 'import socket\nsocket.gethostname = lambda: "peer-elsewhere"\n'  # another host


@dataclass
class ScaleOutOutcome(CrashOutcome):
    held: int | None = None  # the delivery the killed daemon held, stored by the network
    recovered_seconds: float = 0.0  # from the kill to another daemon settling it


def scale_out(config: Path, url: str, net: ScriptedHTTPServer, daemons: int) -> ScaleOutOutcome:
    """`daemons` daemons share the database at `url`; the first, on another host as far as
    the others can tell, is killed once it holds a claim whose post the network stored.
    Measure how long its claim waits, then let the others drain everything."""
    log = config.parent / "daemons.log"
    doomed = start(config, log, ELSEWHERE)
    others = [start(config, log) for _ in range(daemons - 1)]
    outcome = ScaleOutOutcome(seed=0, kills=1)
    began = time.monotonic()
    while time.monotonic() - began < 60:
        caught = [
            row
            for row in rows(url)
            if row.status == "sending"
            and (row.claimed_by or "").startswith("peer-elsewhere:")
            and copies(net, row)
        ]
        if caught:
            outcome.held = caught[0].id
            break
        time.sleep(0.01)
    doomed.kill()
    doomed.wait(10)
    killed = time.monotonic()
    while outcome.held is not None and time.monotonic() - killed < 120:
        if all(row.status != "sending" for row in rows(url) if row.id == outcome.held):
            break
        time.sleep(0.05)
    outcome.recovered_seconds = time.monotonic() - killed
    outcome.drain_seconds = drain(url, others)
    verdict_on(url, net, config.parent, outcome)
    if outcome.held is None:
        outcome.problems.append("the killed daemon never held a claim the network had stored")
    return outcome

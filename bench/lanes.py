"""Lanes: a hanging network delays only its own account; a burst goes out side by side.

python bench/lanes.py [--accounts 50] [--posts 10] [--answer 0.2]

- isolation: one account's network hangs 60 s on its first post; 100 posts due 0.15 s
  apart across 5 outbox accounts meanwhile; lag = file time - due time (target: p99 under
  100 ms);
- burst: `posts` posts due at one instant to each of `accounts` accounts of a local
  stand-in network that answers after `answer` s (500 deliveries); time from the due time
  until the stand-in received the last one (target: under 3 s; a serial dispatcher needs
  500 x 0.2 = 100 s).

The daemon runs as a subprocess, with the test suite's HTTP test network as its adapter.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import Daemon, machine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from conftest import ScriptedServer, write_site  # noqa: E402 - the suite's test network


def _accounts(names: list[str], network: str, url: str = "") -> str:
    extra = f'api_base_url = "{url}"\ntimeout = 90\n' if url else 'path = "var/outbox"\n'
    return "".join(
        f'\n[accounts.{name}]\nnetwork = "{network}"\nvoice = "plain"\n{extra}' for name in names
    )


def _post(ident: str, due: datetime, accounts: list[str]) -> str:
    listed = ", ".join(f'"{name}"' for name in accounts)
    return (
        f'[[post]]\nid = "{ident}"\nat = {due.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}\n'
        f'accounts = [{listed}]\ntext = "Post {ident}"\n\n'
    )


def _site(folder: Path, net: ScriptedServer, calendar: str, extra: str, names: list[str]) -> Path:
    path = write_site(folder, calendar, net_url=net.url, net_timeout=90, extra=extra)
    secrets = path.parent / "secrets.toml"
    secrets.write_text(
        secrets.read_text() + "".join(f'[accounts.{n}]\ntoken = "tok-{n}"\n' for n in names)
    )
    return path


def isolation() -> str:
    net = ScriptedServer()
    net.script = [(200, {}, None, 60.0)]  # the first post hangs for a minute
    boxes = [f"box{n}" for n in range(5)]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        start = datetime.now(UTC) + timedelta(seconds=8)
        dues = {f"p{n}": start + timedelta(seconds=2 + 0.15 * n) for n in range(100)}
        calendar = _post("hung", start, ["net"]) + "".join(
            _post(ident, due, [boxes[n % 5]]) for n, (ident, due) in enumerate(dues.items())
        )
        path = _site(folder, net, calendar, _accounts(boxes, "outbox"), [])
        daemon = Daemon(path, folder / "daemon.log")
        try:
            daemon.wait_ready()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                files = list((folder / "var" / "outbox").glob("box*/*.txt"))
                if len(files) == len(dues):
                    break
                time.sleep(0.2)
        finally:
            daemon.stop()
        lags = sorted(
            (file.stat().st_mtime - dues[file.name.split("_")[0]].timestamp()) * 1000
            for file in files
        )
    net.close()
    if len(lags) < len(dues):
        return f"isolation: only {len(lags)} of {len(dues)} posts went out within a minute"
    p99 = lags[int(len(lags) * 0.99) - 1]
    return (
        f"isolation: {len(lags)} posts to 5 outbox accounts while another account's network "
        f"hangs 60 s: lag median {statistics.median(lags):.0f} ms, p99 {p99:.0f} ms, "
        f"max {lags[-1]:.0f} ms (target p99 < 100 ms)"
    )


def burst(accounts: int, posts: int, answer: float) -> str:
    net = ScriptedServer()
    net.default = (200, {}, None, answer)
    names = [f"n{n}" for n in range(accounts)]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)
        calendar = "".join(_post(f"b{n}", due, names) for n in range(posts))
        path = _site(folder, net, calendar, _accounts(names, "testnet", net.url), names)
        daemon = Daemon(path, folder / "daemon.log")
        try:
            daemon.wait_ready()
            deadline = time.monotonic() + 200
            while len(net.posts()) < accounts * posts and time.monotonic() < deadline:
                time.sleep(0.05)
            last = time.time()
        finally:
            daemon.stop()
    handed = len(net.posts())
    net.close()
    return (
        f"burst: {handed} of {accounts * posts} deliveries ({posts} posts x {accounts} "
        f"accounts, each network answering in {answer:g} s) handed over "
        f"{last - due.timestamp():.2f} s after their due time (target < 3 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--posts", type=int, default=10)
    parser.add_argument("--answer", type=float, default=0.2)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(isolation(), flush=True)
    print(burst(args.accounts, args.posts, args.answer))


if __name__ == "__main__":
    main()

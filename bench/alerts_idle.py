"""What alerts and metrics cost an idle daemon, on a database of a busy year.

20,000 deliveries (1% failed), a webhook target on a local stand-in and a metrics endpoint:
the time of one look for alerts and of one scrape, then the daemon's CPU and resident
memory over an idle window, beside the same daemon without alerts or metrics.
Target: the look and the scrape under 50 ms; idle CPU within 0.5 s of the plain daemon
over the window, resident memory within 25 MB.

    python bench/alerts_idle.py [--idle-seconds 180]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from common import Daemon, machine, write_site

from crosspost import store
from crosspost.alerts.worker import AlertWorker
from crosspost.service.assembly import load_setup
from crosspost.testing import ScriptedHTTPServer


class Hook(ScriptedHTTPServer):
    def default_answer(self, method: str, path: str) -> tuple[int, dict[str, str], object, float]:
        return 200, {}, {"ok": True}, 0.0


def fill(config: Path, rows: int) -> None:
    engine = store.open_engine(f"sqlite:///{config.parent / 'var' / 'crosspost.db'}")
    now = datetime.now(UTC)
    batch = []
    for n in range(rows):
        when = now - timedelta(minutes=26 * (rows - n))  # a year, 55 a day
        failed = n % 100 == 0
        batch.append({
            "key": f"old-{n}|once|linkedin", "source": "calendar", "post_id": f"old-{n}",
            "occurrence": "once", "account": "linkedin", "due_at": when,
            "next_attempt_at": when, "attempts": 1, "updated_at": when,
            "status": "failed" if failed else "sent", "reason": "refused" if failed else None,
            "remote_url": None if failed else f"https://example.com/p/{n}",
        })  # fmt: skip
    store.insert_new(engine, batch)
    engine.dispose()


def idle(config: Path, seconds: float) -> tuple[float, float]:
    daemon = Daemon(config, config.parent / "daemon.log")
    daemon.wait_ready()
    time.sleep(20)  # the first looks (24 hours back) and the imports are behind
    before, rss = daemon.cpu_seconds(), daemon.rss_mb()
    time.sleep(seconds)
    cpu = daemon.cpu_seconds() - before
    rss = max(rss, daemon.rss_mb())
    daemon.stop()
    return cpu, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=180)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    hook = Hook()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sites = {}
    for name in ("plain", "alerts"):
        config = write_site(Path(tempfile.mkdtemp(prefix=f"crosspost-{name}-")), 0,
                            datetime.now(UTC), timedelta(hours=1))  # fmt: skip
        if name == "alerts":
            text = config.read_text().replace(
                'log_format = "logfmt"', f'log_format = "logfmt"\nmetrics = "127.0.0.1:{port}"'
            )
            url = hook.url.replace("http://", "json://")
            config.write_text(text + f'\n[alerts]\n[alerts.targets.team]\nurl = "{url}/hook"\n')
        fill(config, 20_000)
        sites[name] = config

    setup = load_setup(sites["alerts"])
    engine = store.open_engine(setup.config.database_url)
    worker = AlertWorker(engine, lambda: datetime.now(UTC), lambda: setup)
    began = time.perf_counter()
    worker.look()  # the first: the last 24 hours
    first = time.perf_counter() - began
    looks = []
    for _ in range(20):
        began = time.perf_counter()
        worker.look()
        looks.append(time.perf_counter() - began)
    print(f"look for alerts over 20,000 deliveries: first {first * 1000:.1f} ms, "
          f"then median {sorted(looks)[10] * 1000:.1f} ms")  # fmt: skip

    results = {name: idle(config, args.idle_seconds) for name, config in sites.items()}
    daemon = Daemon(sites["alerts"], sites["alerts"].parent / "scrape.log")
    daemon.wait_ready()
    scrapes = []
    for _ in range(20):
        began = time.perf_counter()
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).raise_for_status()
        scrapes.append(time.perf_counter() - began)
    daemon.stop()
    print(f"scrape /metrics over 20,000 deliveries: median {sorted(scrapes)[10] * 1000:.1f} ms")
    for name, (cpu, rss) in results.items():
        print(f"idle {args.idle_seconds:.0f} s, {name}: {cpu:.2f} s CPU, {rss:.1f} MB resident")
    hook.close()


if __name__ == "__main__":
    main()

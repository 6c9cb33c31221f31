"""A 10,000-post calendar across 5 accounts: check time, start to READY, reload, idle cost.

Targets: check < 3 s; start to READY < 3 s; reload after editing one post < 1 s;
idle < 80 MB resident and < 1 s of CPU over 10 idle minutes.

    python bench/calendar_10k.py [--idle-seconds 600]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import Daemon, machine, write_site


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle-seconds", type=float, default=600)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crosspost-bench-"))
    start = datetime.now(UTC) + timedelta(days=1)
    config = write_site(folder, 10_000, start, timedelta(hours=1))
    print(f"machine: {machine()}")

    began = time.monotonic()
    check = subprocess.run(
        [sys.executable, "-m", "crosspost", "-c", str(config), "check"],
        capture_output=True,
        text=True,
    )
    check_s = time.monotonic() - began
    print(f"check: {check_s:.2f} s (exit {check.returncode}; {check.stdout.strip()[-80:]})")

    daemon = Daemon(config, folder / "daemon.log")
    ready_s = daemon.wait_ready()
    print(f"start to READY: {ready_s:.2f} s")

    calendar = folder / "calendar.toml"
    text = calendar.read_text()
    reloads = []
    for n in range(5):
        time.sleep(1.0)
        before = daemon.log.read_text().count("event=reloaded")
        edited = text.replace("planned post 42,", f"planned post 42 (edit {n}),", 1)
        began = time.monotonic()
        calendar.write_text(edited)
        while daemon.log.read_text().count("event=reloaded") == before:
            time.sleep(0.01)
        reloads.append(time.monotonic() - began)
    print(
        f"reload after editing one post: median {sorted(reloads)[2]:.2f} s, "
        f"max {max(reloads):.2f} s (from the write to the 'reloaded' log line, "
        f"includes the 0.1 s debounce)"
    )

    time.sleep(5)
    cpu_before, rss = daemon.cpu_seconds(), daemon.rss_mb()
    time.sleep(args.idle_seconds)
    cpu_idle = daemon.cpu_seconds() - cpu_before
    rss = max(rss, daemon.rss_mb())
    print(f"idle {args.idle_seconds:.0f} s: {cpu_idle:.2f} s CPU, {rss:.1f} MB resident")
    print(f"stop: exit {daemon.stop()}")


if __name__ == "__main__":
    main()

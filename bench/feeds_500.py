"""500 feeds polled every 5 minutes, mostly answering 304: CPU cost, and fire precision.

Phase 1 (--cpu-seconds, default 600 = two poll cycles): the daemon polls 500 local feeds,
of which 5% publish a new item each cycle; CPU seconds of the daemon / wall seconds.
Phase 2: 200 calendar posts due 1.5 s apart while the feeds keep polling; lag p99.
Targets: under 2% of one core on average; fire precision as without feeds (p99 < 1 s).

    python bench/feeds_500.py [--feeds 500] [--cpu-seconds 600]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import Daemon, machine
from feedsite import FeedSite


def write_config(folder: Path, site: FeedSite, feeds: int) -> Path:
    text = (
        '[daemon]\ntimezone = "UTC"\nstate_dir = "var"\ncalendars = ["calendar.toml"]\n'
        'log_level = "warning"\n\n[accounts.box]\nnetwork = "outbox"\n'
    )
    for n in range(feeds):
        text += f'\n[feeds.f{n}]\nurl = "{site.url}/feed/{n}"\nevery = "5m"\naccounts = ["box"]\n'
    (folder / "crosspost.toml").write_text(text)
    (folder / "calendar.toml").write_text("")
    return folder / "crosspost.toml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--cpu-seconds", type=float, default=600)
    parser.add_argument("--posts", type=int, default=200)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crosspost-feeds-"))
    site = FeedSite()
    config = write_config(folder, site, args.feeds)
    print(f"machine: {machine()}")
    daemon = Daemon(config, folder / "daemon.log")
    daemon.wait_ready()
    while site.requests_by_agent.get("crosspost", 0) < args.feeds:  # first sight of all
        time.sleep(0.5)
    time.sleep(5)
    cpu0, started = daemon.cpu_seconds(), time.monotonic()
    changing = [f"feed-{n}" for n in range(0, args.feeds, 20)]  # 5%
    next_bump = 0.0
    while time.monotonic() - started < args.cpu_seconds:
        if time.monotonic() - started >= next_bump:
            for name in changing:
                site.bump(name)
            next_bump += 300
        time.sleep(1)
    wall = time.monotonic() - started
    cpu = daemon.cpu_seconds() - cpu0
    requests = site.requests_by_agent.get("crosspost", 0)
    posted = len(list((folder / "var" / "outbox" / "box").glob("*.txt")))
    print(
        f"{args.feeds} feeds every 5m for {wall:.0f} s: {cpu:.2f} s CPU = "
        f"{100 * cpu / wall:.2f}% of one core; {requests} requests in all, "
        f"{posted} new items posted, {daemon.rss_mb():.0f} MB resident"
    )

    start = datetime.now(UTC) + timedelta(seconds=10)
    spacing = 1.5
    lines = [
        f'[[post]]\nid = "p{i:03d}"\nat = '
        f"{(start + i * timedelta(seconds=spacing)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\n"
        f'accounts = ["box"]\ntext = "Calendar post {i}"\n'
        for i in range(args.posts)
    ]
    (folder / "calendar.toml").write_text("\n".join(lines))
    time.sleep(10 + args.posts * spacing + 5)
    lags = []
    for path in (folder / "var" / "outbox" / "box").glob("p*_once_box.txt"):
        index = int(path.name[1:4])
        lags.append(path.stat().st_mtime - (start + index * timedelta(seconds=spacing)).timestamp())
    lags.sort()
    daemon.stop()
    site.close()
    p99 = lags[max(int(len(lags) * 0.99) - 1, 0)] if lags else float("nan")
    print(
        f"fire precision while polling: {len(lags)}/{args.posts} posts, median "
        f"{statistics.median(lags) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
        f"max {lags[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

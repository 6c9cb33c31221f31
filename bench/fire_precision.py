"""Fire precision: a post due at T is handed to its adapter within 1 s of T (p99, 200 posts).

200 posts are planned 0.3 s apart, starting 15 s after the daemon starts. The outbox adapter
writes each post's file when it is handed the post; lag = file time - due time.

    python bench/fire_precision.py [--posts 200] [--spacing 0.3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import ACCOUNTS, Daemon, machine, write_site


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--spacing", type=float, default=0.3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crosspost-fire-"))
    start = datetime.now(UTC) + timedelta(seconds=15)
    config = write_site(folder, args.posts, start, timedelta(seconds=args.spacing))
    calendar = folder / "calendar.toml"  # one account per post, round robin
    blocks = calendar.read_text().split("[[post]]")[1:]
    rebuilt = []
    for i, block in enumerate(blocks):
        account = ACCOUNTS[i % len(ACCOUNTS)]
        every = str(ACCOUNTS).replace("'", '"')
        rebuilt.append("[[post]]" + block.replace(every, f'["{account}"]'))
    calendar.write_text("".join(rebuilt))
    print(f"machine: {machine()}")
    daemon = Daemon(config, folder / "daemon.log")
    daemon.wait_ready()
    deadline = time.time() + 15 + args.posts * args.spacing + 10
    outbox = folder / "var" / "outbox"
    while time.time() < deadline and len(list(outbox.glob("*/*.txt"))) < args.posts:
        time.sleep(0.5)
    daemon.stop()
    lags = []
    for path in outbox.glob("*/*.txt"):
        index = int(path.name.split("-")[1].split("_")[0])
        due = (start + index * timedelta(seconds=args.spacing)).timestamp()
        lags.append(path.stat().st_mtime - due)
    lags.sort()
    p99 = lags[max(int(len(lags) * 0.99) - 1, 0)]
    print(f"posts handed over: {len(lags)}/{args.posts}")
    print(
        f"lag after due time: median {statistics.median(lags) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms, min {lags[0] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()

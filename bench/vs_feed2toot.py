"""crosspost side by side with feed2toot 0.17 on the same locally served feeds.

Both read 50 local feeds of 50 items each and post to a local stand-in for a Mastodon
instance (feed2toot) or to the outbox (crosspost). Measured in one run:

* first run on feeds with 50 existing items: how many posts each makes;
* one later poll cycle with nothing new: CPU seconds and bytes fetched.

feed2toot runs as it is meant to, once per cron tick (a process per cycle); crosspost is
measured both as the daemon (CPU of one cycle) and as `crosspost run --once` (a process per
cycle, like feed2toot). feed2toot is installed in bench/.venv-feed2toot on first use.

    python bench/vs_feed2toot.py [--feeds 50]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import Daemon, machine
from feedsite import FeedSite

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-feed2toot"


class MastodonStandIn:
    """Answers what Mastodon.py asks for: the instance, and posting a status."""

    def __init__(self) -> None:
        self.statuses = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, data: dict[str, Any]) -> None:
                body = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._json({"uri": "127.0.0.1", "title": "stand-in", "version": "4.2.0"})

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stand_in.statuses += 1
                self._json(
                    {
                        "id": str(stand_in.statuses),
                        "created_at": "2026-03-02T09:00:00Z",
                        "url": f"http://127.0.0.1/@bench/{stand_in.statuses}",
                        "content": "",
                        "visibility": "public",
                    }
                )

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def ensure_feed2toot() -> Path:
    binary = VENV / "bin" / "feed2toot"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "feed2toot==0.17"], check=True)
    return binary


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_feed2toot(binary: Path, folder: Path, site: FeedSite, feeds: int, mastodon: str) -> None:
    (folder / "client.txt").write_text("client-id\nclient-secret\n")
    (folder / "user.txt").write_text("access-token\n")
    (folder / "feeds.txt").write_text("".join(f"{site.url}/feed/{n}\n" for n in range(feeds)))
    (folder / "feed2toot.ini").write_text(
        f"[mastodon]\ninstance_url={mastodon}\nuser_credentials={folder}/user.txt\n"
        f"client_credentials={folder}/client.txt\n\n[cache]\ncachefile={folder}/cache.db\n\n"
        f"[lock]\nlock_file={folder}/f2t.lock\n\n[rss]\nuri_list={folder}/feeds.txt\n"
        "toot={title} {link}\n"
    )
    subprocess.run(
        [str(binary), "-c", str(folder / "feed2toot.ini")], check=True, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    binary = ensure_feed2toot()
    site = FeedSite(items=50)
    mastodon = MastodonStandIn()
    folder = Path(tempfile.mkdtemp(prefix="crosspost-vs-"))
    results: dict[str, dict[str, float]] = {}

    f2t = folder / "feed2toot"
    f2t.mkdir()
    for phase in ("first", "cycle"):
        cpu, sent = child_cpu(), site.bytes_by_agent.get("feedparser", 0)
        run_feed2toot(binary, f2t, site, args.feeds, mastodon.url)
        results[f"feed2toot {phase}"] = {
            "cpu": child_cpu() - cpu,
            "bytes": site.bytes_by_agent["feedparser"] - sent,
            "posts": mastodon.statuses,
        }

    cp = folder / "crosspost"
    cp.mkdir()
    text = (
        '[daemon]\ntimezone = "UTC"\nstate_dir = "var"\ncalendars = []\n'
        'log_level = "warning"\n\n[accounts.box]\nnetwork = "outbox"\n'
    )
    for n in range(args.feeds):
        text += f'\n[feeds.f{n}]\nurl = "{site.url}/feed/{n}"\nevery = "20s"\naccounts = ["box"]\n'
    (cp / "crosspost.toml").write_text(text)
    once = [sys.executable, "-m", "crosspost", "-c", str(cp / "crosspost.toml"), "run", "--once"]
    for phase in ("first", "cycle"):
        cpu, sent = child_cpu(), site.bytes_by_agent.get("crosspost", 0)
        subprocess.run(once, check=True, capture_output=True, env={**os.environ})
        posts = len(list((cp / "var" / "outbox").glob("*/*.txt")))
        results[f"crosspost run --once {phase}"] = {
            "cpu": child_cpu() - cpu,
            "bytes": site.bytes_by_agent["crosspost"] - sent,
            "posts": posts,
        }
    daemon = Daemon(cp / "crosspost.toml", cp / "daemon.log")
    daemon.wait_ready()
    before = site.requests_by_agent["crosspost"]
    while site.requests_by_agent["crosspost"] < before + args.feeds:  # first cycle (poll now)
        time.sleep(0.2)
    time.sleep(1)
    cpu, sent = daemon.cpu_seconds(), site.bytes_by_agent["crosspost"]
    before = site.requests_by_agent["crosspost"]
    while site.requests_by_agent["crosspost"] < before + args.feeds:  # one whole 20 s cycle
        time.sleep(0.2)
    time.sleep(1)
    results["crosspost daemon cycle"] = {
        "cpu": daemon.cpu_seconds() - cpu,
        "bytes": site.bytes_by_agent["crosspost"] - sent,
        "posts": len(list((cp / "var" / "outbox").glob("*/*.txt"))),
    }
    daemon.stop()

    print(f"{args.feeds} feeds of 50 items each, served locally")
    print(f"{'run':34} {'CPU s':>7} {'bytes fetched':>14} {'posts so far':>13}")
    for name, row in results.items():
        print(f"{name:34} {row['cpu']:7.2f} {row['bytes']:14,.0f} {row['posts']:13.0f}")
    f2t_cycle, cp_daemon = results["feed2toot cycle"], results["crosspost daemon cycle"]
    cp_once = results["crosspost run --once cycle"]
    print(
        "per unchanged cycle, feed2toot / crosspost daemon: "
        f"CPU x{f2t_cycle['cpu'] / max(cp_daemon['cpu'], 0.01):.0f}, "
        f"bytes {f2t_cycle['bytes']:,.0f} vs {cp_daemon['bytes']:,.0f}; "
        f"feed2toot / crosspost run --once: CPU x{f2t_cycle['cpu'] / cp_once['cpu']:.1f}"
    )
    print(
        f"first run, posts made: feed2toot {results['feed2toot first']['posts']:.0f}, "
        f"crosspost {results['crosspost run --once first']['posts']:.0f}"
    )


if __name__ == "__main__":
    main()

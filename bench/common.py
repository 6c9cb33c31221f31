"""Helpers for the benchmarks: a generated site, a running daemon, process measurements."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ACCOUNTS = ["linkedin", "facebook", "x", "mastodon", "archive"]
CONFIG = """
[daemon]
timezone = "Europe/Paris"
state_dir = "var"
calendars = ["calendar.toml"]
catch_up = "2h"
log_format = "logfmt"

[voices.corporate]
template = "{{ title }}\\n\\n{{ text }}\\n\\n{{ link }}\\n{{ hashtags }}"
hashtags = ["Bench", "Crosspost"]
utm = { utm_source = "linkedin" }

[voices.short]
template = "{{ text }} {{ link }} {{ hashtags }}"
hashtags = ["bench"]
overflow = "thread"
"""


def write_site(folder: Path, posts: int, start: datetime, step: timedelta) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = CONFIG
    for name in ACCOUNTS:
        voice = "short" if name in ("x", "mastodon") else "corporate"
        counting = 'counting = "x"\nlimit = 280' if name == "x" else "limit = 3000"
        config += (
            f'\n[accounts.{name}]\nnetwork = "outbox"\nvoice = "{voice}"\n'
            f'path = "var/outbox"\n{counting}\n'
        )
    (folder / "crosspost.toml").write_text(config)
    lines = []
    for i in range(posts):
        when = (start + i * step).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines.append(
            f'[[post]]\nid = "post-{i:05d}"\nat = {when}\naccounts = {ACCOUNTS!r}\n'
            f'title = "Post number {i}"\ntext = "This is planned post {i}, written '
            f'ahead of time by the team. Café, crème brûlée and 日本語 too."\n'
            f'link = "https://example.com/blog/{i}"\n'
        )
    (folder / "calendar.toml").write_text("\n".join(lines).replace("'", '"'))
    return folder / "crosspost.toml"


class Daemon:
    """`crosspost run` as a subprocess with a notify socket, like systemd starts it."""

    def __init__(self, config: Path, log: Path) -> None:
        self.sock_path = config.parent / "notify.sock"
        self.sock_path.unlink(missing_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.sock_path))
        self.started = time.monotonic()
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crosspost", "-c", str(config), "run"],
            env={**os.environ, "NOTIFY_SOCKET": str(self.sock_path)},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> float:
        self.sock.settimeout(timeout)
        while b"READY=1" not in self.sock.recv(4096):
            pass
        return time.monotonic() - self.started

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        self.proc.terminate()
        code = self.proc.wait(20)
        self.sock.close()
        return code


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}"
    )

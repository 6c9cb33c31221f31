"""The real daemon as a subprocess, for the tests that need it: started with a systemd
notify socket, read through its log, stopped with SIGTERM; and the commands a person runs
next to it (`history`, the outbox folder)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def post(post_id: str, when: datetime, accounts: str = '"box"', text: str = "Hi") -> str:
    return (
        f'\n[[post]]\nid = "{post_id}"\nat = {when.strftime("%Y-%m-%dT%H:%M:%SZ")}\n'
        f'accounts = [{accounts}]\ntext = "{text}"\n'
    )


class Daemon:
    def __init__(self, config: Path, tmp_path: Path, watchdog_usec: int = 0) -> None:
        self.notify_path = tmp_path / f"notify-{time.monotonic_ns()}.sock"
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.notify_path))
        self.notify.settimeout(10)
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(self.notify_path),
            "PYTHONPATH": str(TESTS),
            "PYTHONUNBUFFERED": "1",
        }
        if watchdog_usec:
            env["WATCHDOG_USEC"] = str(watchdog_usec)
        self.log = tmp_path / "daemon.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crosspost", "--config", str(config), "run"],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            env=env,
        )

    def messages(self, until: str, timeout: float = 10) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.notify.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                seen.append(self.notify.recv(4096).decode())
            except TimeoutError:
                break
            if until in seen[-1]:
                return seen
        raise AssertionError(f"no {until!r} from the daemon; got {seen}\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(15)
        self.notify.close()
        return code, time.monotonic() - started


def wait_for(predicate, timeout: float = 10.0) -> float:  # type: ignore[no-untyped-def]
    """Poll for something the daemon does (not a schedule); returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError("timed out")


def history(config: Path) -> str:
    """`crosspost history`, as a person would run it after the daemon stopped."""
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "-c", str(config), "history"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def outbox(tmp_path: Path) -> list[str]:
    folder = tmp_path / "var" / "outbox" / "box"
    return sorted(p.name for p in folder.glob("*.txt")) if folder.exists() else []


def crosspost(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A command a person runs beside the daemon (`history`, `pending`…), wide enough that
    its tables are not cut."""
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )

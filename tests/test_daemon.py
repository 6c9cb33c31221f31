"""The real daemon as a subprocess: systemd protocol, signals, reload, exit codes, secrets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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


@pytest.fixture
def daemon_factory(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    started: list[Daemon] = []

    def start(config: Path, **kwargs: int) -> Daemon:
        daemon = Daemon(config, tmp_path, **kwargs)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


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


def test_ready_publish_reload_watch_and_clean_stop(make_site, tmp_path, daemon_factory) -> None:
    now = datetime.now(UTC)
    path = make_site(
        post("due", now - timedelta(minutes=5)) + post("later", now + timedelta(days=1))
    )
    daemon = daemon_factory(path, watchdog_usec=1_000_000)
    assert any("READY=1" in m for m in daemon.messages("READY=1"))
    wait_for(lambda: outbox(tmp_path) == ["due_once_box.txt"])
    assert any("WATCHDOG=1" in m for m in daemon.messages("WATCHDOG=1", timeout=3))

    # an editor saves by writing a new file and renaming it over the old one
    calendar = tmp_path / "calendar.toml"
    new = tmp_path / ".calendar.toml.swp"
    new.write_text(calendar.read_text() + post("edited-in", now - timedelta(minutes=1)))
    new.rename(calendar)
    took = wait_for(lambda: "edited-in_once_box.txt" in outbox(tmp_path))
    assert took < 2.0

    # SIGHUP reloads by hand; a broken edit is logged with file:line and the rest keeps going
    calendar.write_text(calendar.read_text() + post("by-hup", now) + '\n[[post]]\nid = "x"\n')
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "by-hup_once_box.txt" in outbox(tmp_path))
    assert (
        f"{calendar}:" in daemon.output() and "missing required key 'accounts'" in daemon.output()
    )

    code, took = daemon.stop()
    assert code == 0 and took < 10
    assert outbox(tmp_path) == ["by-hup_once_box.txt", "due_once_box.txt", "edited-in_once_box.txt"]


def test_restart_does_not_publish_twice(make_site, tmp_path, daemon_factory) -> None:
    path = make_site(post("once", datetime.now(UTC) - timedelta(minutes=1)))
    first = daemon_factory(path)
    first.messages("READY=1")
    wait_for(lambda: outbox(tmp_path) == ["once_once_box.txt"])
    assert first.stop()[0] == 0
    second = daemon_factory(path)
    second.messages("READY=1")
    assert second.stop()[0] == 0
    assert "delivery sent" not in second.output()


def test_config_error_exits_78_with_file_and_line(make_site, tmp_path, daemon_factory) -> None:
    path = make_site("")
    path.write_text(path.read_text().replace('catch_up = "2h"', 'catch_up = "two hours"'))
    daemon = daemon_factory(path)
    assert daemon.proc.wait(15) == 78
    line = path.read_text().splitlines().index('catch_up = "two hours"') + 1
    assert f"{path}:{line}:" in daemon.output() and "[daemon.catch_up]" in daemon.output()


def test_secrets_never_reach_the_logs(make_site, net, tmp_path, daemon_factory) -> None:
    # A (badly behaved) API that echoes the bearer token in its error message.
    net.default = (400, {}, {"error": "bad request for Bearer s3cr3t-token-value"}, 0)
    path = make_site(post("p", datetime.now(UTC), accounts='"net"'), net_url=net.url)
    path.write_text(
        path.read_text().replace(
            'secrets = "secrets.toml"', 'secrets = "secrets.toml"\nlog_level = "debug"'
        )
    )
    daemon = daemon_factory(path)
    daemon.messages("READY=1")
    wait_for(lambda: "delivery failed" in daemon.output())
    daemon.stop()
    assert "s3cr3t-token-value" not in daemon.output()
    assert "[redacted]" in daemon.output()
    shown = history(path)
    assert "s3cr3t" not in shown and "failed" in shown


def test_sigterm_during_a_hung_publish_exits_in_time_and_the_next_start_settles_it(
    make_site, net, tmp_path, daemon_factory
) -> None:
    net.script = [(200, {}, None, 25.0)]  # stored, then hangs longer than the stop deadline
    path = make_site(
        post("slow", datetime.now(UTC), accounts='"net"'), net_url=net.url, net_timeout=30
    )
    daemon = daemon_factory(path)
    daemon.messages("READY=1")
    wait_for(lambda: any(r["path"] == "/posts" for r in net.requests))
    code, took = daemon.stop()
    assert code == 0 and took < 10
    assert "stopped during a publish" in daemon.output()
    shown = history(path)
    assert "queued" in shown and "the network is asked before it goes again" in shown
    again = daemon_factory(path)
    again.messages("READY=1")
    wait_for(lambda: "sent" in history(path))
    again.stop()
    assert len(net.posts()) == 1 and "https://testnet.invalid/p/1" in history(path)
    assert [r["path"] for r in net.requests if r["method"] == "GET"][-1].startswith("/posts/by")

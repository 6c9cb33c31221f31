"""The real daemon as a subprocess: systemd protocol, signals, reload, exit codes, secrets."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon_harness import Daemon, history, outbox, post, wait_for


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


# The daemon in this process's main thread; a SIGTERM handed by the kernel to one of its
# other threads (here: to this helper thread, once the daemon's worker runs).
OTHER_THREAD_KILL = """
import signal, sys, threading, time
from crosspost.cli.main import main

def kill_from_another_thread():
    while not any(t.name == "worker" for t in threading.enumerate()):
        time.sleep(0.01)
    time.sleep(0.5)  # into the main thread's idle wait
    print("KILL", time.monotonic(), flush=True)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

threading.Thread(target=kill_from_another_thread, daemon=True).start()
code = main(["--config", sys.argv[1], "run"])
print("EXIT", time.monotonic(), flush=True)
sys.exit(code)
"""


def test_a_sigterm_that_reaches_another_thread_stops_the_daemon_at_once(make_site) -> None:
    import subprocess
    import sys

    config = make_site("")
    done = subprocess.run([sys.executable, "-c", OTHER_THREAD_KILL, str(config)],
                          capture_output=True, text=True, timeout=50)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    times = {line.split()[0]: float(line.split()[1]) for line in done.stdout.splitlines()
             if line.startswith(("KILL", "EXIT"))}  # fmt: skip
    assert times["EXIT"] - times["KILL"] < 5, done.stdout  # not at the next minute's tick

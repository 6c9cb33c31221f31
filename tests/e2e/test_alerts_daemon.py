"""Alerts and metrics from the real daemon subprocess: a failure reaches the webhook within
seconds, once (a reload does not repeat it), a crash is told at the next start, the metrics
endpoint answers a real HTTP client, and neither a dead alert service nor a metrics port in
use stops the publishing."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alert_standins import HookServer
from daemon_harness import Daemon, outbox, post, wait_for


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = HookServer()
    yield server
    server.close()


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    started: list[Daemon] = []

    def start(config: Path) -> Daemon:
        started.append(Daemon(config, tmp_path))
        return started[-1]

    yield start
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_metrics(config: Path, address: str) -> Path:
    text = config.read_text().replace(
        'secrets = "secrets.toml"\n', f'secrets = "secrets.toml"\nmetrics = "{address}"\n'
    )
    config.write_text(text)
    return config


def target(url: str) -> str:
    return f'\n[alerts.targets.team]\nurl = "{url}"\n'


def test_a_failure_is_alerted_once_and_the_metrics_count_it(
    make_site, net, hook: HookServer, tmp_path: Path, daemons
) -> None:
    now = datetime.now(UTC)
    port = free_port()
    config = make_site(post("hello", now - timedelta(minutes=1)) +
                       post("refused", now - timedelta(minutes=1), '"net"'),
                       net_url=net.url, extra=target(hook.hook_url()))  # fmt: skip
    with_metrics(config, f"127.0.0.1:{port}")
    net.script = [(400, {}, {"error": "invalid media"}, 0)]
    daemon = daemons(config)
    daemon.messages("READY=1")
    wait_for(lambda: len(hook.notifications()) == 1, timeout=20)
    [first] = hook.notifications()
    assert first["title"] == "Not published: refused → net"
    assert "invalid media" in first["message"] and "crosspost retry" in first["message"]

    # a reload, then a second failure: one new alert, about the new post only
    net.script = [(400, {}, {"error": "too long"}, 0)]
    calendar = tmp_path / "calendar.toml"
    calendar.write_text(calendar.read_text() + post("second", now, '"net"'))
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(hook.notifications()) == 2, timeout=20)
    assert hook.notifications()[1]["title"] == "Not published: second → net"

    scrape = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert scrape.status_code == 200
    metrics = scrape.text
    assert 'crosspost_deliveries{account="net",status="failed"} 2.0' in metrics
    assert 'crosspost_deliveries{account="box",status="sent"} 1.0' in metrics
    assert 'crosspost_publish_outcomes_total{account="box",status="sent"} 1.0' in metrics
    assert 'crosspost_publish_lag_seconds_count{account="box"} 1.0' in metrics
    assert "crosspost_heartbeat_timestamp_seconds " in metrics
    assert daemon.stop()[0] == 0
    assert len(hook.notifications()) == 2


def test_a_crash_is_told_at_the_next_start(
    make_site, hook: HookServer, tmp_path: Path, daemons
) -> None:
    config = make_site("", extra=target(hook.hook_url()))
    first = daemons(config)
    first.messages("READY=1")
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    second = daemons(config)
    second.messages("READY=1")
    wait_for(lambda: len(hook.notifications()) == 1, timeout=20)
    [crash] = hook.notifications()
    assert crash["title"] == f"crosspost restarted after a crash ({socket.gethostname()})"
    assert f":{first.proc.pid} stopped at" in crash["message"]
    assert second.stop()[0] == 0
    third = daemons(config)  # a clean stop is not a crash
    third.messages("READY=1")
    assert third.stop()[0] == 0 and len(hook.notifications()) == 1


def test_a_dead_alert_service_and_a_taken_port_never_stop_the_publishing(
    make_site, net, tmp_path: Path, daemons
) -> None:
    now = datetime.now(UTC)
    net.script = [(400, {}, {"error": "refused"}, 0)]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config = make_site(post("hello", now - timedelta(minutes=1)), net_url=net.url,
                           extra=target("json://127.0.0.1:9/hook"))  # fmt: skip
        with_metrics(config, f"127.0.0.1:{taken.getsockname()[1]}")
        (tmp_path / "calendar.toml").write_text(
            post("hello", now - timedelta(minutes=1))
            + post("refused", now - timedelta(minutes=1), '"net"')
        )
        daemon = daemons(config)
        daemon.messages("READY=1")
        wait_for(lambda: outbox(tmp_path) == ["hello_once_box.txt"], timeout=20)
        wait_for(lambda: "alert not sent; it is tried again" in daemon.output(), timeout=20)
        log = daemon.output()
        assert "metrics not served; publishing goes on" in log
        assert "[daemon.metrics]" in log and "choose a free port" in log
        assert daemon.stop()[0] == 0

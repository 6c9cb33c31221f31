"""`crosspost status` and its exit codes, against a live daemon subprocess, a dead one, a
clean stop, none at all, and the facts that need a person."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from daemon_harness import Daemon, post, wait_for

from crosspost import store
from crosspost.model import RESOLVED_BY_HAND
from crosspost.store import heartbeat


def status(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "--config", str(config), "status", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture
def daemons(tmp_path: Path):  # type: ignore[no-untyped-def]
    started: list[Daemon] = []
    yield lambda config: started.append(Daemon(config, tmp_path)) or started[-1]
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    return store.open_existing(f"sqlite:///{tmp_path / 'var' / 'crosspost.db'}")


def _ran_once(make_site, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A site whose database one `run --once` made, and that database."""
    config = make_site("")
    subprocess.run([sys.executable, "-m", "crosspost", "-c", str(config), "run", "--once"],
                   capture_output=True, timeout=60, check=True)  # fmt: skip
    return config, _engine(tmp_path)


def test_no_database_and_no_daemon_ever_is_exit_2(make_site, tmp_path: Path) -> None:
    config = make_site("")
    result = status(config)
    assert result.returncode == 2 and "no database at" in result.stderr
    subprocess.run([sys.executable, "-m", "crosspost", "-c", str(config), "run", "--once"],
                   capture_output=True, timeout=60, check=True)  # fmt: skip
    result = status(config)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "NONE ALIVE (none has ever run with this database)" in result.stdout


def test_a_live_daemon_is_healthy_then_a_failure_needs_attention(
    make_site, net, tmp_path: Path, daemons
) -> None:
    now = datetime.now(UTC)
    config = make_site(post("hello", now - timedelta(minutes=1)) +
                       post("later", now + timedelta(days=1)), net_url=net.url)  # fmt: skip
    daemon = daemons(config)
    daemon.messages("READY=1")
    wait_for(lambda: "hello" in " ".join(p.name for p in (tmp_path / "var/outbox/box").glob("*")))
    result = status(config)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"daemon: alive, {socket.gethostname()}:{daemon.proc.pid}" in result.stdout
    assert "1 sent" in result.stdout and "status: healthy" in result.stdout
    assert "later" in result.stdout  # the next posts due

    net.script = [(400, {}, {"error": "invalid media"}, 0)]  # refused: a permanent failure
    (tmp_path / "calendar.toml").write_text(
        (tmp_path / "calendar.toml").read_text() + post("refused", now, '"net"')
    )
    wait_for(lambda: status(config).returncode == 1, timeout=20)
    facts = json.loads(status(config, "--json").stdout)
    assert facts["state"] == "attention" and facts["exit"] == 1
    assert facts["last_24h"]["failed"] == 1 and facts["last_24h"]["sent"] == 1
    assert any("crosspost history --status failed" in item for item in facts["attention"])
    assert facts["daemons"][0]["alive"] is True

    daemon.stop()  # a clean stop says so
    result = status(config)
    assert result.returncode == 2 and "stopped cleanly" in result.stdout


def test_a_killed_daemon_is_dead_at_once(make_site, tmp_path: Path, daemons) -> None:
    config = make_site("")
    daemon = daemons(config)
    daemon.messages("READY=1")
    assert status(config).returncode == 0
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait()
    result = status(config)
    assert result.returncode == 2, result.stdout
    assert "without stopping: it died" in result.stdout


def test_a_daemon_on_another_host_counts_by_its_last_beat(make_site, tmp_path: Path) -> None:
    config, engine = _ran_once(make_site, tmp_path)
    now = datetime.now(UTC)
    heartbeat.beat(engine, "elsewhere", 4242, now - timedelta(minutes=10), now - timedelta(hours=1))
    assert status(config).returncode == 2  # ten minutes without a beat: dead
    heartbeat.beat(engine, "elsewhere", 4242, now - timedelta(seconds=40), now - timedelta(hours=1))
    result = status(config)
    assert result.returncode == 0 and "daemon: alive, elsewhere:4242" in result.stdout


def test_paused_accounts_expiring_tokens_failing_feeds_and_late_posts_need_attention(
    make_site, tmp_path: Path
) -> None:
    config, engine = _ran_once(make_site, tmp_path)
    now = datetime.now(UTC)
    heartbeat.beat(engine, "elsewhere", 1, now, now)
    soon = (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "secrets.toml").write_text(
        f'[accounts.net]\ntoken = "s3cr3t-token-value"\ntoken_expires_at = {soon}\n'
    )
    store.pause_account(engine, "net", "the token was refused", now)
    late = now - timedelta(minutes=30)
    row = {"key": "late:box", "post_id": "late", "occurrence": "", "account": "box",
           "due_at": late, "next_attempt_at": late, "status": "queued", "attempts": 0,
           "updated_at": late}  # fmt: skip
    store.insert_new(engine, [row])
    from sqlmodel import Session

    from crosspost.store.tables import FeedState

    with Session(engine) as session:
        session.add(FeedState(name="blog", failures=3, last_error="HTTP 503"))
        session.commit()
    result = status(config)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "account net is paused (the token was refused): crosspost auth net" in out
    assert "the token of net expires on" in out
    assert "feed blog failing (3 times: HTTP 503)" in out
    assert "1 due over 10 minutes ago and still queued" in out
    assert "s3cr3t-token-value" not in out

    store.set_meta(engine, store.KEPT_EXPIRY + "net", (now + timedelta(days=50)).isoformat())
    assert "the token of net" not in status(config).stdout  # the daemon renewed it since


def test_a_post_sent_with_a_warning_needs_a_look(make_site, tmp_path: Path) -> None:
    config, engine = _ran_once(make_site, tmp_path)
    now = datetime.now(UTC)
    heartbeat.beat(engine, "elsewhere", 1, now, now)  # a live daemon on another host
    why = "the post is published, but its first comment was not added (a timeout)"
    row = {"key": "bread:net", "post_id": "bread", "occurrence": "", "account": "net",
           "due_at": now, "next_attempt_at": now, "status": "sent", "attempts": 1,
           "updated_at": now, "reason": why, "remote_url": "https://net.example/p/1"}  # fmt: skip
    store.insert_new(engine, [row])
    result = status(config, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    facts = json.loads(result.stdout)
    [warned] = facts["sent_with_warning"]
    assert warned["post"] == "bread" and warned["account"] == "net" and warned["warning"] == why
    assert any("1 sent with a warning" in item and "crosspost history --status sent" in item
               for item in facts["attention"])  # fmt: skip
    resolve = [sys.executable, "-m", "crosspost", "-c", str(config), "resolve", str(warned["id"])]
    refused = subprocess.run([*resolve, "--not-sent"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "not in_doubt" in refused.stderr  # never sent again
    done = subprocess.run([*resolve, "--sent", "https://net.example/p/1"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert status(config).returncode == 0  # a person settled it: nothing to look at
    [row] = store.deliveries(engine, store.columns.key == "bread:net")
    assert row.status == "sent" and row.reason == f"{RESOLVED_BY_HAND} (was: {why})"

"""First comments in the real daemon: a kill -9 or a stop while the comment is on its way
never publishes the post again and never sends the comment twice; the next start says
that the comment may be missing, so a person looks."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
from daemon_harness import Daemon, history, wait_for


def calendar() -> str:
    due = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'[[post]]\nid = "bread"\nat = {due}\naccounts = ["talk"]\n'
        'text = "Our winter bread is back"\nfirst_comment = "Order: https://acme.example/o"\n'
    )


@pytest.fixture
def site(talk_site, net) -> Path:  # type: ignore[no-untyped-def]
    net.script = [(200, {}, None, 0), (200, {}, None, 25.0)]  # the comment hangs
    return talk_site(calendar(), "timeout = 30\n")  # type: ignore[no-any-return]


def requests_to(net, suffix: str) -> int:  # type: ignore[no-untyped-def]
    return sum(1 for r in net.requests if r["method"] == "POST" and r["path"].endswith(suffix))


def test_a_kill_while_commenting_is_reported_and_nothing_is_sent_twice(
    site, net, tmp_path, daemons
) -> None:
    daemons.append(first := Daemon(site, tmp_path))
    first.messages("READY=1")
    wait_for(lambda: requests_to(net, "/comments") == 1)
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait()
    daemons.append(second := Daemon(site, tmp_path))
    second.messages("READY=1")
    wait_for(lambda: "sent" in history(site))
    second.stop()
    shown = history(site)
    assert "https://testnet.invalid/p/1" in shown and "interrupted while adding it" in shown
    assert "may or may not be there" in shown
    assert requests_to(net, "/posts") == 1 and requests_to(net, "/comments") == 1


def test_a_stop_while_commenting_is_reported_at_once(site, net, tmp_path, daemons) -> None:
    daemons.append(daemon := Daemon(site, tmp_path))
    daemon.messages("READY=1")
    wait_for(lambda: requests_to(net, "/comments") == 1)
    code, took = daemon.stop()
    assert code == 0 and took < 10
    shown = history(site)
    assert "sent" in shown and "the daemon stopped while adding it" in shown
    daemons.append(again := Daemon(site, tmp_path))
    again.messages("READY=1")
    again.stop()
    assert requests_to(net, "/posts") == 1 and requests_to(net, "/comments") == 1

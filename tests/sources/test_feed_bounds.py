"""Feeds are untrusted: bounded fetches, checked redirects, regular files, clean item text."""

from __future__ import annotations

import os
import time
from datetime import UTC
from pathlib import Path

import httpx
import pytest
from feedserver import rss

from crosspost import store
from crosspost.service.runtime import Runtime
from crosspost.sources.feeds import fetch as fetch_module
from crosspost.sources.feeds import guard
from crosspost.sources.feeds.fetch import FeedError, fetch
from crosspost.sources.feeds.parse import parse_feed
from crosspost.sources.feeds.poller import poll
from crosspost.sources.feeds.state import load_state


@pytest.mark.parametrize(
    ("location", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://10.1.2.3/admin", "a private address"),
        ("http://[ff02::1]/", "a multicast address"),
        ("file:///etc/passwd", "redirected to a file: address, refused"),
        ("ftp://blog.example/feed", "redirected to a ftp: address, refused"),
        ("gopher://127.0.0.1:70/", "redirected to a gopher: address, refused"),
    ],
)
def test_a_redirect_may_not_lead_somewhere_the_feed_may_not_reach(
    server, client, location, why
) -> None:
    url = server.serve("/feed", status=302, headers={"Location": location}, etag=False)
    started = time.monotonic()
    with pytest.raises(FeedError, match=why):
        fetch(client, url, None, None, 10_000)
    assert time.monotonic() - started < 2  # refused, not tried until a timeout


def test_a_public_feed_may_not_be_redirected_into_loopback() -> None:
    # The rule the socket-level check applies (no public address is reachable here to test
    # it end to end): a feed configured on a public host may reach public hosts only.
    policy = guard.policy_for("93.184.216.34", 80, 60)
    assert policy.allowed == {"public"}
    guard.use(policy)
    try:
        with pytest.raises(guard.BlockedAddress, match="loopback"):
            guard.check("127.0.0.1", 80)
        with pytest.raises(guard.BlockedAddress, match="loopback"):
            guard.check("::ffff:127.0.0.1", 80)
        with pytest.raises(guard.BlockedAddress, match="loopback"):
            guard.check("0.0.0.0", 80)
        assert guard.check("8.8.8.8", 53) == ["8.8.8.8"]
    finally:
        guard.use(None)
    assert guard.kind_of("192.168.1.10") == "private" and guard.kind_of("100.64.0.1") == "private"
    assert guard.kind_of("fe80::1") == "link-local" and guard.kind_of("1.1.1.1") == "public"


def test_the_guard_is_really_under_httpx(server, client) -> None:
    """httpx has no public hook for it: if an upgrade drops it, this fails."""
    guard.use(guard.Policy(frozenset({"public"}), time.monotonic() + 5))
    try:
        with pytest.raises(httpx.ConnectError, match="loopback address"):
            client.get(server.serve("/feed", rss()))
    finally:
        guard.use(None)


def test_one_deadline_covers_the_whole_fetch_headers_included(server, client, monkeypatch) -> None:
    monkeypatch.setattr(fetch_module, "TOTAL_SECONDS", 1.5)
    url = server.serve("/feed", drip=0.2)  # a byte every 0.2 s: no single read times out
    started = time.monotonic()
    with pytest.raises(FeedError, match=r"too slow: no complete answer within 2 s"):
        fetch(client, url, None, None, 10_000_000)
    assert time.monotonic() - started < 3


def test_slow_feeds_do_not_starve_the_others(make_site, server, clock, monkeypatch) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from crosspost.service.feed_polls import EXECUTOR, WORKERS, FeedPolls
    from crosspost.service.jobs import DaemonThreads

    monkeypatch.setattr(fetch_module, "TOTAL_SECONDS", 3)
    slow = [server.serve(f"/slow{n}", drip=0.2) for n in range(4)]
    feeds = "".join(
        f'\n[feeds.slow{n}]\nurl = "{url}"\naccounts = ["box"]\n' for n, url in enumerate(slow)
    )
    feeds += f'\n[feeds.good]\nurl = "{server.serve("/good", rss())}"\naccounts = ["box"]\n'
    runtime = Runtime(make_site("", extra=feeds), clock)
    timer = BackgroundScheduler(timezone=UTC, executors={EXECUTOR: DaemonThreads(WORKERS)})
    polls = FeedPolls(runtime, timer, on_queued=lambda: None)
    timer.start()
    started = time.monotonic()
    polls.sync()
    try:
        while load_state(runtime.engine, "good") is None and time.monotonic() - started < 10:
            time.sleep(0.05)
        assert time.monotonic() - started < 2  # polled while the four slow ones still drip
        while not timer.get_jobs() and time.monotonic() - started < 3:
            time.sleep(0.01)
        assert {job.id for job in timer.get_jobs()} == {"feed:good"}  # its next poll, planned
    finally:
        timer.shutdown(wait=False)
    started = time.monotonic()
    assert polls.poll_all() == 0  # run --once: in parallel, one deadline in all
    assert time.monotonic() - started < 5
    assert "too slow" in (load_state(runtime.engine, "slow0").last_error or "")


@pytest.mark.parametrize("special", ["/dev/zero", "fifo"])
def test_a_local_feed_must_be_a_regular_file(tmp_path: Path, client, special: str) -> None:
    path = Path(special)
    if special == "fifo":
        path = tmp_path / "feed.xml"
        os.mkfifo(path)
    started = time.monotonic()
    with pytest.raises(FeedError, match="is not a regular file"):
        fetch(client, str(path), None, None, 10_000)
    assert time.monotonic() - started < 1


def test_a_local_feed_is_read_within_max_bytes(tmp_path: Path, client) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(rss(("g1", "One", "https://b.example/1")) + " " * 20_000)
    with pytest.raises(FeedError, match="too large"):
        fetch(client, str(path), None, None, 10_000)


def test_item_links_must_be_http_and_text_loses_bidi_and_control_characters(
    make_site, server, client, clock, capsys
) -> None:
    from crosspost import logs

    logs.configure("logfmt", "info")
    evil = rss(
        ("g3", "Click", "javascript:alert(1)"),
        ("g2", "Pay \u202eredaolnwod\u202c now\u009b", "https://b.example/2"),
    )
    runtime = Runtime(
        make_site("", extra=f'\n[feeds.blog]\nurl = "{server.url}/feed"\naccounts = ["box"]\n'),
        clock,
    )
    server.serve("/feed", rss())
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())  # first sight
    server.serve("/feed", evil)
    queued, _ = poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    assert queued == 1
    [row] = store.deliveries(runtime.engine, store.columns.source == "feed")
    assert "\u202e" not in (row.payload or "") and "\\u202e" not in (row.payload or "")
    assert "Pay redaolnwod now" in (row.payload or "")
    [item] = [i for i in parse_feed(evil.encode()).items if i.title == "Click"]
    assert item.link == "" and "not an http or https address" in item.problem
    assert "feed item skipped" in capsys.readouterr().out

"""Blog relay: real feeds over local sockets, polled and turned into deliveries."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from feedserver import rss

from crosspost import store
from crosspost.service.runtime import Runtime
from crosspost.sources.feeds import fetch as fetch_module
from crosspost.sources.feeds.fetch import new_client
from crosspost.sources.feeds.parse import parse_feed, plain_text, strip_internal_subset
from crosspost.sources.feeds.poller import poll
from crosspost.sources.feeds.state import load_state

FEEDS = Path(__file__).resolve().parent / "feeds"
ONE = ("g1", "First", "https://blog.example/1")
TWO = ("g2", "Second", "https://blog.example/2")
THREE = ("g3", "Third", "https://blog.example/3")


def site(make_site, url: str, **feed: object) -> Path:  # type: ignore[no-untyped-def]
    options = "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in feed.items())
    extra = f'\n[feeds.blog]\nurl = "{url}"\naccounts = ["box"]\n{options}'
    extra = extra.replace("True", "true").replace("False", "false")
    return make_site("", extra=feed.pop("_extra", "") + extra if "_extra" in feed else extra)


def queued(runtime: Runtime) -> list[store.Delivery]:
    return list(store.deliveries(runtime.engine, store.columns.source == "feed"))


def test_formats_parse_into_template_variables() -> None:
    rss2 = parse_feed((FEEDS / "rss2.xml").read_bytes())
    assert rss2.title == "Acme Blog" and [i.key for i in rss2.items] == ["acme-2", "acme-1"]
    second, first = rss2.items
    assert second.summary == "Short & sweet" and second.author == "Marie"
    assert second.categories == ("Small business", "news")
    assert second.image == "https://blog.example/img/2.jpg"
    assert first.image == "https://blog.example/img/1.png"  # image enclosure
    assert second.canonical == "https://blog.example/second"  # utm dropped
    atom = parse_feed((FEEDS / "atom.xml").read_bytes()).items[0]
    assert (atom.title, atom.summary, atom.author) == ("Atom entry", "An Atom summary", "Paul")
    rdf = parse_feed((FEEDS / "rss1.xml").read_bytes()).items[0]
    assert (rdf.key, rdf.title) == ("https://rdf.example/one", "RDF item")
    wordpress = parse_feed((FEEDS / "wordpress.xml").read_bytes())
    [post] = wordpress.items
    assert wordpress.title == "L’Atelier"
    assert post.title == "Crème brûlée & café : nos horaires d’été"
    assert post.summary == "Cet été, l’atelier ouvre à 8 h. Venez goûter nos crêpes… […]"
    assert post.author == "Élodie" and post.categories == ("Actualités",)


def test_items_without_guid_use_link_then_a_hash() -> None:
    keys = [i.key for i in parse_feed((FEEDS / "noguid.xml").read_bytes()).items]
    assert "https://ng.example/linked" in keys
    assert any(k.startswith("hash:") for k in keys)


def test_internal_entities_are_stripped_before_parsing() -> None:
    body = (FEEDS / "entities.xml").read_bytes()
    assert b"<!ENTITY" not in strip_internal_subset(body)
    started = time.monotonic()
    parsed = parse_feed(body)
    assert time.monotonic() - started < 2
    assert "AAAA" not in parsed.title and "AAAA" not in parsed.items[0].title


def test_plain_text_from_html() -> None:
    assert plain_text("<p>a&nbsp;b</p><p>c &amp; d</p>\n\n  e") == "a b c & d e"


def test_first_sight_posts_nothing_then_new_items_once(make_site, server, client, clock) -> None:
    url = server.serve("/feed", rss(TWO, ONE))
    runtime = Runtime(site(make_site, url), clock)
    config = runtime.setup.config
    assert poll(runtime.engine, client, config, "blog", clock())[0] == 0
    assert queued(runtime) == [] and load_state(runtime.engine, "blog").items_seen == 2
    server.serve("/feed", rss(THREE, TWO, ONE))
    count, next_poll = poll(runtime.engine, client, config, "blog", clock())
    assert count == 1 and timedelta(minutes=9) <= next_poll - clock() <= timedelta(minutes=11)
    assert poll(runtime.engine, client, config, "blog", clock())[0] == 0
    runtime.tick(threading.Event())
    [row] = queued(runtime)
    assert row.status == "sent" and row.post_id == "feed:blog"
    text = Path(row.remote_url.removeprefix("file://")).read_text()
    assert "Third https://blog.example/3" in text


def test_backfill_posts_the_newest_items_on_first_sight(make_site, server, client, clock) -> None:
    url = server.serve("/feed", rss(THREE, TWO, ONE))
    runtime = Runtime(site(make_site, url, backfill=2), clock)
    assert poll(runtime.engine, client, runtime.setup.config, "blog", clock())[0] == 2
    payloads = sorted(d.payload for d in queued(runtime))
    assert len(payloads) == 2 and all("First" not in p for p in payloads)


def test_changed_guid_with_same_link_and_updated_article_are_not_reposted(
    make_site, server, client, clock
) -> None:
    url = server.serve("/feed", rss(ONE))
    runtime = Runtime(site(make_site, url), clock)
    config = runtime.setup.config
    poll(runtime.engine, client, config, "blog", clock())
    server.serve("/feed", rss(("new-guid", "First", "https://blog.example/1?utm_source=x"), ONE))
    assert poll(runtime.engine, client, config, "blog", clock())[0] == 0
    server.serve("/feed", rss(("g1", "First (updated!)", "https://blog.example/1")))
    assert poll(runtime.engine, client, config, "blog", clock())[0] == 0


def test_unchanged_feed_costs_one_304_and_no_parse(make_site, server, client, clock) -> None:
    url = server.serve("/feed", rss(ONE))
    runtime = Runtime(site(make_site, url), clock)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    first, second = server.requests
    assert "If-None-Match" not in first["headers"]
    assert second["headers"]["If-None-Match"] == load_state(runtime.engine, "blog").etag


def test_include_and_exclude(make_site, server, client, clock) -> None:
    url = server.serve("/feed", rss(ONE))
    runtime = Runtime(
        site(make_site, url, include=["/^(Second|Third)$/"], exclude=["third"]), clock
    )
    config = runtime.setup.config
    poll(runtime.engine, client, config, "blog", clock())
    server.serve("/feed", rss(THREE, TWO, ONE))
    assert poll(runtime.engine, client, config, "blog", clock())[0] == 1
    [row] = queued(runtime)
    assert '"Second"' in (row.payload or "")


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"status": 500}, "HTTP 500"),
        ({"status": 404}, "HTTP 404"),
        ({"body": b"<html><body>not a feed</body></html>"}, "not an RSS or Atom feed"),
        ({"body": b"<?xml version='1.0'?><rss><channel><item><title>x</titl"}, "malformed XML"),
        ({"endless": True}, "too large"),
    ],
)
def test_feed_failures_are_recorded_with_backoff(
    make_site, server, client, clock, route, reason
) -> None:
    url = server.serve("/feed", **route)
    runtime = Runtime(site(make_site, url, max_bytes=100_000), clock)
    _, first = poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    _, second = poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    state = load_state(runtime.engine, "blog")
    assert state is not None and reason in (state.last_error or "")
    assert state.failures == 2 and state.last_success is None
    assert second - clock() > (first - clock()) * 1.5  # backoff grows


def test_timeout_and_recovery(make_site, server, clock, monkeypatch, capsys) -> None:
    from crosspost import logs

    logs.configure("logfmt", "info")  # onto the stdout that capsys captures
    monkeypatch.setattr(fetch_module, "TIMEOUT", httpx.Timeout(0.3))
    url = server.serve("/feed", rss(ONE), delay=1.0)
    runtime = Runtime(site(make_site, url), clock)
    with new_client() as client:
        poll(runtime.engine, client, runtime.setup.config, "blog", clock())
        assert "timeout" in (load_state(runtime.engine, "blog").last_error or "")
        server.serve("/feed", rss(ONE))
        poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    state = load_state(runtime.engine, "blog")
    assert state.last_error is None and state.failures == 0
    out = capsys.readouterr().out
    assert out.count("feed failing") == 1 and "feed recovered" in out


def test_local_file_feed(make_site, client, clock, tmp_path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(rss(ONE))
    runtime = Runtime(site(make_site, "feed.xml"), clock)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    feed.write_text(rss(TWO, ONE))
    assert poll(runtime.engine, client, runtime.setup.config, "blog", clock())[0] == 1


def test_slots_mode_queues_into_the_next_free_slots(make_site, server, client, clock) -> None:
    url = server.serve("/feed", rss(ONE))
    extra = ""
    path = site(make_site, url, mode="slots")
    text = path.read_text().replace(
        '[accounts.box]\nnetwork = "outbox"',
        '[accounts.box]\nslots = ["mon-fri 09:00", "mon-fri 17:30"]\n'
        'max_per_day = 1\nnetwork = "outbox"',
    )
    path.write_text(text + extra)
    clock.set(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))  # a Monday
    runtime = Runtime(path, clock)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    server.serve("/feed", rss(THREE, TWO, ONE))
    assert poll(runtime.engine, client, runtime.setup.config, "blog", clock())[0] == 2
    due = sorted(d.due_at for d in queued(runtime))
    assert due == [datetime(2026, 3, 2, 9, 0, tzinfo=UTC), datetime(2026, 3, 3, 9, 0, tzinfo=UTC)]


def test_feed_config_errors(make_site) -> None:
    from crosspost.config.problems import ConfigError
    from crosspost.config.settings import load_config

    with pytest.raises(ConfigError) as info:
        load_config(site(make_site, "x.xml", mode="slots", include=["/(/"], every="10 minutes"))
    text = "\n".join(str(p) for p in info.value.problems)
    assert "[feeds.blog.include]" in text and "invalid regular expression" in text
    assert "[feeds.blog.every]" in text


def test_feeds_command_and_preview(make_site, server, client, clock, capsys) -> None:
    from crosspost.cli.main import main

    url = server.serve_file("/feed", "wordpress.xml")
    path = site(make_site, url)
    runtime = Runtime(path, clock)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    assert main(["-c", str(path), "feeds"]) == 0
    out = capsys.readouterr().out
    assert "blog" in out and "ok" in out and "2026-03-02 08:00" in out
    requests_before = len(server.requests)
    assert main(["-c", str(path), "feeds", "preview", "blog"]) == 0
    out = capsys.readouterr().out
    assert "══ Crème brûlée & café : nos horaires d’été" in out
    assert "── box (500 chars)" in out
    assert len(server.requests) == requests_before + 1
    assert "If-None-Match" not in server.requests[-1]["headers"]
    assert load_state(runtime.engine, "blog").items_seen == 1  # preview marks nothing seen
    server.serve("/feed", status=503)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    assert main(["-c", str(path), "feeds"]) == 1
    assert "FAILING: HTTP 503" in capsys.readouterr().out


def test_daemon_relays_a_new_item_within_one_poll_and_once_across_restart(
    make_site, server, tmp_path
) -> None:
    from daemon_harness import Daemon, outbox, wait_for

    url = server.serve("/feed", rss(ONE))
    path = site(make_site, url, every="1s")
    started: list[Daemon] = []
    try:
        daemon = Daemon(path, tmp_path)
        started.append(daemon)
        daemon.messages("READY=1")
        wait_for(lambda: "feed first seen" in daemon.output())
        server.serve("/feed", rss(TWO, ONE))
        took = wait_for(lambda: len(outbox(tmp_path)) == 1)
        assert took < 3
        assert daemon.stop()[0] == 0
        again = Daemon(path, tmp_path)
        started.append(again)
        again.messages("READY=1")
        polls = len(server.requests)
        wait_for(lambda: len(server.requests) >= polls + 2)  # it polled again, twice
        assert again.stop()[0] == 0
    finally:
        for process in started:
            if process.proc.poll() is None:
                process.proc.kill()
    [name] = outbox(tmp_path)
    text = (tmp_path / "var" / "outbox" / "box" / name).read_text()
    assert "Second https://blog.example/2" in text


def test_gzip_and_redirects(make_site, server, client, clock) -> None:
    server.serve("/moved", status=301, headers={"Location": "/feed"}, etag=False)
    server.serve("/feed", rss(ONE), gzip=True)
    runtime = Runtime(site(make_site, server.url + "/moved"), clock)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    state = load_state(runtime.engine, "blog")
    assert state.last_error is None and state.items_seen == 1
    server.serve("/loop", status=302, headers={"Location": "/loop"}, etag=False)
    runtime = Runtime(site(make_site, server.url + "/loop"), clock)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    assert "more than 5 redirects" in (load_state(runtime.engine, "blog").last_error or "")


def test_a_gzip_bomb_hits_the_size_cap(make_site, server, client, clock) -> None:
    bomb = rss(ONE).replace("</channel>", "<!--" + " " * 5_000_000 + "--></channel>")
    server.serve("/feed", bomb, gzip=True)
    runtime = Runtime(site(make_site, server.url + "/feed", max_bytes=1_000_000), clock)
    poll(runtime.engine, client, runtime.setup.config, "blog", clock())
    assert "too large" in (load_state(runtime.engine, "blog").last_error or "")


def test_a_feed_added_while_running_starts_polling(make_site, server, tmp_path) -> None:
    from daemon_harness import Daemon, wait_for

    path = make_site("")
    daemon = Daemon(path, tmp_path)
    try:
        daemon.messages("READY=1")
        url = server.serve("/feed", rss(ONE))
        path.write_text(path.read_text() + f'\n[feeds.blog]\nurl = "{url}"\naccounts = ["box"]\n')
        took = wait_for(lambda: "feed first seen" in daemon.output())
        assert took < 3
        assert daemon.stop()[0] == 0
    finally:
        if daemon.proc.poll() is None:
            daemon.proc.kill()

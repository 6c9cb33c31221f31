"""The delivery lifecycle, driven by a manual clock against a real SQLite file and real HTTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crosspost import store
from crosspost.delivery import claims
from crosspost.service.runtime import Runtime
from crosspost.timeutil import ManualClock

AT_9 = """
[[post]]
id = "hello"
at = 2026-03-02T09:00:00
accounts = ["box", "net"]
text = "Hello there"
"""


def statuses(runtime: Runtime) -> dict[str, str]:
    return {f"{d.post_id}/{d.account}": d.status for d in store.deliveries(runtime.engine)}


def tick_at(runtime: Runtime, clock, when: datetime) -> None:  # type: ignore[no-untyped-def]
    clock.set(when)
    runtime.tick(threading.Event())


def test_post_goes_out_when_due_and_never_twice(make_site, net, clock, tmp_path: Path) -> None:
    path = make_site(AT_9, net_url=net.url)
    runtime = Runtime(path, clock)
    assert runtime.next_wake() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    tick_at(runtime, clock, datetime(2026, 3, 2, 8, 59, 59, tzinfo=UTC))
    assert statuses(runtime) == {}
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert statuses(runtime) == {"hello/box": "sent", "hello/net": "sent"}
    assert [p["parts"] for p in net.posts()] == [["Hello there"]]
    files = list((tmp_path / "var" / "outbox" / "box").iterdir())
    assert len(files) == 1 and "Hello there" in files[0].read_text()
    # a restart, a reload, and later ticks create nothing new
    again = Runtime(path, clock)
    again.reload()
    tick_at(again, clock, datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert len(store.deliveries(again.engine)) == 2 and len(net.posts()) == 1
    sent = store.deliveries(again.engine, store.columns.account == "net")[0]
    assert sent.remote_url == "https://testnet.invalid/p/1" and sent.text == "Hello there"


def test_moving_a_sent_post_does_not_post_it_again(make_site, net, clock, tmp_path) -> None:
    path = make_site(AT_9, net_url=net.url)
    runtime = Runtime(path, clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    (tmp_path / "calendar.toml").write_text(AT_9.replace("09:00", "11:00"))
    runtime.reload()
    tick_at(runtime, clock, datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    assert len(net.posts()) == 1


def test_downtime_catch_up_and_missed(make_site, net, clock) -> None:
    calendar = AT_9 + AT_9.replace('"hello"', '"old"').replace("09:00", "05:00")
    clock.set(datetime(2026, 3, 2, 10, 30, tzinfo=UTC))  # 1h30 late for hello, 5h30 for old
    runtime = Runtime(make_site(calendar, net_url=net.url), clock)
    runtime.tick(threading.Event())
    assert statuses(runtime) == {
        "hello/box": "sent",
        "hello/net": "sent",
        "old/box": "missed",
        "old/net": "missed",
    }
    missed = store.deliveries(runtime.engine, store.columns.status == "missed")[0]
    assert "late by 5h30m" in (missed.reason or "") and "catch_up is 2h" in (missed.reason or "")


CRON_DST = """
[[post]]
id = "nightly"
cron = "30 2 * * *"
accounts = ["box"]
text = "Nightly"
"""


def test_cron_in_the_repeated_dst_hour_fires_once(make_site, clock) -> None:
    clock.set(datetime(2026, 10, 24, 23, 0, tzinfo=UTC))  # 01:00 CEST, 25 Oct (fall back)
    runtime = Runtime(make_site(CRON_DST, timezone="Europe/Paris"), clock)
    first = runtime.next_wake()
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # first 02:30 (CEST)
    for minutes in range(0, 6 * 60, 15):  # walk through the night, both 02:30s included
        tick_at(
            runtime, clock, datetime(2026, 10, 24, 23, 0, tzinfo=UTC) + timedelta(minutes=minutes)
        )
    rows = store.deliveries(runtime.engine)
    assert [(r.occurrence, r.status) for r in rows] == [("2026-10-25T02:30", "sent")]


def test_cron_in_the_spring_gap_moves_to_03_00(make_site, clock) -> None:
    clock.set(datetime(2026, 3, 28, 23, 0, tzinfo=UTC))
    runtime = Runtime(make_site(CRON_DST, timezone="Europe/Paris"), clock)
    assert runtime.next_wake() == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST


def test_transient_error_retries_with_backoff(make_site, net, clock) -> None:
    net.script = [(503, {}, {"error": "busy"}, 0)]
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "queued" and row.attempts == 1 and "server error 503" in (row.reason or "")
    wait = row.next_attempt_at - clock()
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)
    assert runtime.next_wake() == row.next_attempt_at
    tick_at(runtime, clock, row.next_attempt_at)
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and row.attempts == 2


def test_rate_limit_waits_for_the_reset_time(make_site, net, clock) -> None:
    reset = int((clock() + timedelta(hours=2)).timestamp())
    net.script = [(429, {"x-rate-limit-reset": str(reset)}, {}, 0)]
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "queued"
    assert row.next_attempt_at == datetime.fromtimestamp(reset, UTC)


def test_gives_up_after_max_attempts(make_site, net, clock) -> None:
    net.default = (500, {}, {}, 0)
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    for _ in range(10):
        [row] = store.deliveries(runtime.engine)
        if row.status != "queued":
            break
        tick_at(runtime, clock, row.next_attempt_at)
    assert row.status == "failed" and row.attempts == 8
    assert (row.reason or "").startswith("gave up after 8 attempts")


def test_permanent_error_fails_with_the_reason(make_site, net, clock) -> None:
    net.script = [(400, {}, {"detail": "duplicate content"}, 0)]
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "failed" and "duplicate content" in (row.reason or "")


def test_auth_error_pauses_the_account_until_it_verifies(make_site, net, clock) -> None:
    calendar = AT_9.replace('"box", ', "") + AT_9.replace('"hello"', '"second"').replace(
        '"box", ', ""
    ).replace("09:00", "09:05")
    net.script = [(401, {}, {}, 0), (401, {}, {}, 0)]  # publish, then the first verify
    runtime = Runtime(make_site(calendar, net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert statuses(runtime) == {"hello/net": "failed"}
    assert "net" in store.paused_accounts(runtime.engine)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    assert statuses(runtime)["second/net"] == "queued"  # held while paused
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 11, tzinfo=UTC))  # verify: still 401
    assert "net" in store.paused_accounts(runtime.engine)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 22, tzinfo=UTC))  # verify answers 200
    assert store.paused_accounts(runtime.engine) == {}
    assert statuses(runtime)["second/net"] == "sent"


def test_timeout_after_sending_is_reconciled_never_retried(make_site, net, clock) -> None:
    net.script = [(200, {}, None, 3.0)]  # stored, but answered after the 2 s timeout
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and row.remote_url == "https://testnet.invalid/p/1"
    tick_at(runtime, clock, datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    assert len(net.posts()) == 1


def test_timeout_with_nothing_found_is_sent_again_after_a_second_look(
    make_site, net, clock
) -> None:
    net.script = [(503, {}, {}, 3.0)]  # not stored, and no answer within the timeout
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "queued" and row.recheck and "not on the network" in (row.reason or "")
    tick_at(runtime, clock, datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and not row.recheck
    lookups = [r["path"] for r in net.requests if r["path"].startswith("/posts/by-key/")]
    assert len(lookups) == 2  # asked after the timeout, and again just before sending
    assert len(net.published) == 1  # on the network once


def test_a_post_shown_late_is_found_at_the_second_look(make_site, net, clock) -> None:
    net.script = [(503, {}, {}, 3.0)]
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    net.published[row.key] = {"id": "41", "url": "https://testnet.invalid/p/41"}  # shown now
    tick_at(runtime, clock, datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and row.remote_url.endswith("/p/41")
    assert len(net.posts()) == 1  # the first attempt only: nothing sent twice


def test_a_network_that_cannot_be_asked_leaves_it_to_a_person(make_site, net, clock) -> None:
    net.script = [(503, {}, {}, 3.0), (500, {}, {"error": "down"}, 0)]  # lookup fails too
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "in_doubt" and "could not be asked" in (row.reason or "")
    assert f"crosspost resolve {row.id}" in (row.reason or "")


def test_crash_while_sending_is_settled_once_on_restart(make_site, clock, tmp_path) -> None:
    path = make_site(AT_9.replace(', "net"', ""))
    runtime = Runtime(path, clock)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    runtime.planner.materialise_due(clock())
    claimed = claims.claim(runtime.engine, clock(), "thishost:999999")  # a dead worker
    assert claimed is not None
    store.set_status(
        runtime.engine,
        store.columns.id == claimed.id,
        clock(),
        claimed_at=clock() - timedelta(hours=1),
    )
    Runtime(path, clock).tick(threading.Event())
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent"  # the outbox had no file for it, and is idempotent: sent once
    assert len(list((tmp_path / "var" / "outbox" / "box").iterdir())) == 1


def test_reload_applies_edits_and_cancels_removed_posts(make_site, net, clock, tmp_path) -> None:
    net.script = [(503, {}, {}, 0)]
    path = make_site(AT_9.replace('"box", ', ""), net_url=net.url)
    runtime = Runtime(path, clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # queued for a retry
    (tmp_path / "calendar.toml").write_text(AT_9.replace("Hello there", "Hello, edited"))
    runtime.reload()
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    assert net.posts()[-1]["parts"] == ["Hello, edited"]
    (tmp_path / "calendar.toml").write_text(
        AT_9.replace("hello", "other").replace("09:00", "12:00")
    )
    runtime.reload()
    assert statuses(runtime)["hello/net"] == "sent"  # sent ones are left alone


def test_reload_cancels_a_queued_delivery_whose_post_was_removed(make_site, net, clock, tmp_path):
    net.script = [(503, {}, {}, 0)]
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    (tmp_path / "calendar.toml").write_text("")
    runtime.reload()
    [row] = store.deliveries(runtime.engine)
    assert row.status == "cancelled"


def test_invalid_config_edit_keeps_the_last_good_one(make_site, clock, tmp_path) -> None:
    path = make_site(AT_9.replace(', "net"', ""))
    runtime = Runtime(path, clock)
    path.write_text(path.read_text() + "\n[daemon.oops]\n")
    assert runtime.reload() is False
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert statuses(runtime) == {"hello/box": "sent"}


def test_reject_policy_fails_the_delivery_with_the_count(make_site, clock) -> None:
    calendar = AT_9.replace(', "net"', "").replace("Hello there", "word " * 30)
    runtime = Runtime(make_site(calendar, limit=40, overflow="reject"), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "failed" and "for a limit of 40 chars" in (row.reason or "")


def test_draft_is_never_published(make_site, clock) -> None:
    runtime = Runtime(make_site(AT_9.replace(', "net"', "") + "draft = true\n"), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    assert statuses(runtime) == {}


def test_two_daemons_sharing_postgresql_publish_each_delivery_once(make_site, net, pg_url) -> None:
    posts = "".join(AT_9.replace('"hello"', f'"p{i}"').replace('"box", ', "") for i in range(40))
    clock_a = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    clock_b = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    path = make_site(posts, net_url=net.url, database=pg_url)
    first, second = Runtime(path, clock_a), Runtime(path, clock_b)
    second.host, second.worker = "otherhost", "otherhost:1"  # as if on another machine
    second.dispatcher.worker = second.worker
    threads = [threading.Thread(target=r.tick, args=(threading.Event(),)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = store.deliveries(first.engine)
    assert len(rows) == 40 and {r.status for r in rows} == {"sent"}
    assert len(net.posts()) == 40
    assert len({p["key"] for p in net.posts()}) == 40
    assert {r.claimed_by for r in rows} <= {first.worker, "otherhost:1"}


TWO_AT_9 = AT_9.replace('"box", ', "") + AT_9.replace('"box", ', "").replace('"hello"', '"second"')


def test_a_rate_limit_holds_the_whole_account_until_its_reset(make_site, net, clock) -> None:
    reset = datetime(2026, 3, 2, 9, 10, tzinfo=UTC)
    net.script = [(429, {"x-rate-limit-reset": str(int(reset.timestamp()))}, {}, 0)]
    runtime = Runtime(make_site(TWO_AT_9, net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert len(net.posts()) == 1  # the second post was not tried while the limit holds
    assert runtime.next_wake() == reset
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 5, tzinfo=UTC))
    assert len(net.posts()) == 1
    tick_at(runtime, clock, reset)
    assert {d.status for d in store.deliveries(runtime.engine)} == {"sent"}


def test_a_rate_limit_without_a_reset_holds_the_account_for_the_backoff(
    make_site, net, clock
) -> None:
    net.script = [(429, {}, {}, 0)]  # the network says nothing of when it lifts
    runtime = Runtime(make_site(TWO_AT_9, net_url=net.url), clock)
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    assert len(net.requests) == 1  # the second post was not sent into the limit
    [first] = [d for d in store.deliveries(runtime.engine) if d.attempts]
    wake = runtime.next_wake()
    assert wake is not None and wake == first.next_attempt_at.replace(tzinfo=UTC) > clock()
    tick_at(runtime, clock, wake)
    assert {d.status for d in store.deliveries(runtime.engine)} == {"sent"}


def test_a_paused_account_does_not_wake_the_daemon_again_and_again(
    make_site, net, clock, tmp_path
) -> None:
    runtime = Runtime(make_site(AT_9.replace('"box", ', ""), net_url=net.url), clock)
    (tmp_path / "secrets.toml").write_text("")  # its token is gone: paused at reload
    runtime.reload()
    tick_at(runtime, clock, datetime(2026, 3, 2, 9, 0, 30, tzinfo=UTC))
    assert [d.status for d in store.deliveries(runtime.engine)] == ["queued"]
    wake = runtime.next_wake()
    assert wake is None or wake > clock()  # the daemon sleeps instead of spinning


def test_the_retry_jitter_comes_from_the_dispatchers_injected_randomness() -> None:
    """Seeded, the backoff is reproducible; the jitter is applied once (0.5-1 of the step)."""
    import random

    from crosspost.delivery.retry import backoff

    seeded = [backoff(3, timedelta(seconds=30), random.Random(7)) for _ in range(2)]
    assert seeded[0] == seeded[1]
    waits = [backoff(3, timedelta(seconds=30), random.Random(n)) for n in range(200)]
    assert timedelta(seconds=60) <= min(waits) and max(waits) <= timedelta(seconds=120)

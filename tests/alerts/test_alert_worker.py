"""Alerts, driven by a manual clock against a real SQLite file, the test network and a
webhook stand-in over real sockets: what each event says, one alert per event across
reloads and retries, bursts grouped, a target that is down retried then given up loudly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alert_standins import HookServer, MailServer

from crosspost import store
from crosspost.alerts import events, outbox
from crosspost.alerts.digest import digest
from crosspost.alerts.send import send
from crosspost.alerts.worker import AlertWorker
from crosspost.cli.main import main
from crosspost.model import RESOLVED_BY_HAND, Status
from crosspost.service.runtime import Runtime
from crosspost.store.tables import FeedState
from crosspost.timeutil import ManualClock

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POST = """
[[post]]
id = "spring-sale"
at = 2026-03-02T09:00:00
accounts = ["net"]
text = "Spring sale"
link = "https://acme.test/sale"
"""


@pytest.fixture
def hook() -> Iterator[HookServer]:
    server = HookServer()
    yield server
    server.close()


def target(url: str, name: str = "team", events: str = "") -> str:
    chosen = f"\nevents = [{events}]" if events else ""
    return f'\n[alerts.targets.{name}]\nurl = "{url}"{chosen}\n'


def site(make_site, net, hook, extra: str = "", calendar: str = POST) -> Path:  # type: ignore[no-untyped-def]
    return make_site(calendar, net_url=net.url, extra=extra or target(hook.hook_url()))


def worker(runtime: Runtime, clock: ManualClock, **more: Any) -> AlertWorker:
    return AlertWorker(runtime.engine, clock, lambda: runtime.setup,
                       lambda: runtime.token_problems, **more)  # fmt: skip


def tick(runtime: Runtime, clock: ManualClock, when: datetime) -> None:
    clock.set(when)
    runtime.tick(threading.Event())


def test_a_failed_post_gives_one_alert_that_says_why_and_how_to_fix_it(
    make_site, net, hook, clock, tmp_path: Path
) -> None:
    runtime = Runtime(site(make_site, net, hook), clock)
    alerts = worker(runtime, clock)
    net.script = [(400, {}, {"error": "image too large"}, 0)]  # refused: permanent
    tick(runtime, clock, NINE)
    assert alerts.cycle() == 1
    [sent] = hook.notifications()
    failed = store.deliveries(runtime.engine)[0]
    assert sent["title"] == "Not published: spring-sale → net"
    assert (
        "image too large" in sent["message"] and f"crosspost retry {failed.id}" in sent["message"]
    )
    assert "https://acme.test/sale" not in sent["message"]  # a calendar post's link is its text
    # looked at again, after a reload, and in a restarted daemon: the same event, no alert
    runtime.reload()
    assert alerts.cycle() == 0
    again = Runtime(tmp_path / "crosspost.toml", clock)
    clock.advance(timedelta(minutes=1))
    assert worker(again, clock).cycle() == 0 and len(hook.notifications()) == 1
    # a person retries it and it fails again: that is a new event
    net.script = [(400, {}, {"error": "still too large"}, 0)]
    assert main(["-c", str(tmp_path / "crosspost.toml"), "retry", str(failed.id)]) == 0
    tick(again, clock, datetime.now(UTC) + timedelta(minutes=1))  # `retry` queues it for now
    assert alerts.cycle() == 1
    assert "still too large" in hook.notifications()[-1]["message"]


def test_each_event_names_what_happened_and_the_command(
    make_site, net, hook, clock, tmp_path: Path
) -> None:
    runtime = Runtime(site(make_site, net, hook, calendar=""), clock)
    now = clock()
    base = {"source": "calendar", "occurrence": "once", "account": "net", "due_at": now,
            "next_attempt_at": now, "attempts": 1, "updated_at": now}  # fmt: skip
    store.insert_new(runtime.engine, [
        {**base, "key": "a|once|net", "post_id": "a", "status": Status.IN_DOUBT,
         "reason": "timed out; the network could not be asked"},
        {**base, "key": "b|once|net", "post_id": "b", "status": Status.MISSED,
         "reason": "due 3h ago while no daemon ran"},
    ])  # fmt: skip
    store.pause_account(runtime.engine, "net", "AuthError: token revoked", now)
    with store.Session(runtime.engine) as session:  # type: ignore[attr-defined]
        session.add(
            FeedState(
                name="blog",
                url="https://blog.acme.test/feed",
                failures=3,
                last_error="HTTP 503",
                last_success=now - timedelta(hours=2),
            )
        )
        session.commit()  # fmt: skip
    assert worker(runtime, clock).cycle() == 4
    [grouped] = hook.notifications()  # one burst, one message
    assert grouped["title"] == (
        "crosspost: 4 alerts (1 in doubt, 1 missed, 1 paused, 1 feed failing)"
    )
    text = grouped["message"]
    [doubt, missed] = store.deliveries(runtime.engine)
    assert f"crosspost resolve {doubt.id} --sent URL" in text
    assert f"crosspost retry {missed.id}` sends it now" in text
    assert "Account paused: net" in text and "crosspost auth net" in text
    assert "Feed failing: blog" in text and "HTTP 503" in text
    # the feed answers again: one recovery, once
    with store.Session(runtime.engine) as session:  # type: ignore[attr-defined]
        state = session.get(FeedState, "blog")
        state.failures, state.last_error = 0, None
        session.add(state)
        session.commit()
    alerts = worker(runtime, clock)
    assert alerts.cycle() == 1 and alerts.cycle() == 0
    assert hook.notifications()[-1]["title"] == "Feed recovered: blog"


def test_a_burst_is_one_message_with_the_rest_counted(make_site, net, hook, clock) -> None:
    posts = "".join(POST.replace("spring-sale", f"p{n}") for n in range(30))
    runtime = Runtime(site(make_site, net, hook, calendar=posts), clock)
    net.default = (400, {}, {"error": "refused"}, 0.0)
    tick(runtime, clock, NINE)
    assert worker(runtime, clock).cycle() == 30
    [message] = hook.notifications()
    assert message["title"] == "crosspost: 30 alerts (30 failed)"
    assert message["message"].count("### Not published") == 20
    assert "…and 10 more" in message["message"]


def test_a_target_that_is_down_is_retried_then_given_up_loudly(
    make_site, net, hook, clock, caplog
) -> None:
    runtime = Runtime(site(make_site, net, hook), clock)
    net.script = [(400, {}, {"error": "refused"}, 0)]
    tick(runtime, clock, NINE)
    hook.script = [(500, {}, {"error": "down"}, 0.0)] * 5
    alerts = worker(runtime, clock)
    assert alerts.cycle() == 0  # first try fails
    waits = []
    for _ in range(4):
        due = alerts.next_try()
        assert due is not None
        waits.append(due - clock())
        clock.set(due - timedelta(seconds=1))
        assert alerts.cycle() == 0 and len(hook.requests) == len(waits)  # not before its time
        clock.set(due)
        alerts.cycle()
    assert waits == list(outbox.RETRY_AFTER)
    assert len(hook.requests) == outbox.MAX_ATTEMPTS and alerts.next_try() is None
    [row] = outbox.undelivered(runtime.engine, NINE - timedelta(days=1))
    assert row.gave_up_at is not None and "500" in (row.last_error or "")
    logged = caplog.text
    assert "alert given up after its retries" in logged and "Not published" in logged


def test_routing_sends_each_event_only_where_it_is_wanted(make_site, net, hook, clock) -> None:
    other = HookServer()
    try:
        extra = (target(hook.hook_url(), "ops", '"failed", "paused"')
                 + target(other.hook_url(), "boss", '"digest"'))  # fmt: skip
        runtime = Runtime(site(make_site, net, hook, extra), clock)
        net.script = [(400, {}, {"error": "refused"}, 0)]
        tick(runtime, clock, NINE)
        assert worker(runtime, clock).cycle() == 1
        assert len(hook.notifications()) == 1 and other.notifications() == []
    finally:
        other.close()


def test_a_silent_service_times_out_and_a_mail_server_gets_the_alert(hook) -> None:
    hook.script = [(200, {}, {}, 3.0)]
    assert send(hook.hook_url(), "t", "b", timeout=0.5) == "no answer within 0.5 s"
    mail = MailServer()
    try:
        assert send(mail.url(), "Not published: launch → x", "**Why:** refused") == ""
        [message] = mail.received
        assert (
            message["Subject"] == "Not published: launch → x" and message["To"] == "boss@acme.test"
        )
        html = message.get_body(("html",))
        assert html is not None and "<strong>Why:</strong> refused" in html.get_content()
    finally:
        mail.close()


def test_two_daemons_sharing_postgresql_send_each_alert_once(
    make_site, net, hook, clock, pg_url: str
) -> None:
    config = make_site(POST, net_url=net.url, database=pg_url, extra=target(hook.hook_url()))
    first, second = Runtime(config, clock), Runtime(config, clock)
    net.script = [(400, {}, {"error": "refused"}, 0)]
    tick(first, clock, NINE)
    workers = [worker(first, clock), worker(second, clock)]
    done: list[int] = []
    threads = [threading.Thread(target=lambda w=w: done.append(w.cycle())) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done) == [0, 1] and len(hook.notifications()) == 1


def test_status_lists_alerts_that_could_not_be_sent(make_site, net, hook, clock, capsys) -> None:
    runtime = Runtime(site(make_site, net, hook), clock)
    net.script = [(400, {}, {"error": "refused"}, 0)]
    tick(runtime, clock, datetime.now(UTC))
    hook.script = [(500, {}, {"error": "down"}, 0.0)]
    worker(runtime, clock).cycle()
    main(["-c", str(runtime.path), "status"])
    out = capsys.readouterr().out
    assert "ATTENTION: 1 alert(s) not sent to team (Failed to send JSON POST" in out
    assert "crosspost alerts test" in out


def test_a_post_sent_with_a_warning_is_alerted_once(talk_site, net, hook, clock) -> None:
    calendar = (
        POST.replace('["net"]', '["talk"]') + 'first_comment = "Order: https://acme.test/o"\n'
    )
    runtime = Runtime(talk_site(calendar, target(hook.hook_url())), clock)
    net.script = [(200, {}, None, 0), (200, {}, None, 3.0)]  # the comment's answer is lost
    tick(runtime, clock, NINE)
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and "first comment was not added" in (row.reason or "")
    assert worker(runtime, clock).cycle() == 1
    [message] = hook.notifications()
    assert message["title"] == "Published, but look: spring-sale → talk"
    assert "first comment was not added" in message["message"]
    assert "https://testnet.invalid/p/1" in message["message"]
    runtime.reload()
    clock.set(NINE + timedelta(minutes=5))
    assert worker(runtime, clock).cycle() == 0 and len(hook.notifications()) == 1
    line = digest(runtime.setup, runtime.engine, clock(), []).body.splitlines()[1]
    assert line.startswith("- 09:00 **talk**: spring-sale — https://testnet.invalid/p/1 — look:")
    assert "first comment was not added" in line


def test_plain_sends_and_hand_resolved_ones_raise_no_warning(make_site, net, hook, clock) -> None:
    runtime = Runtime(site(make_site, net, hook), clock)
    tick(runtime, clock, NINE)
    assert (
        events.deliveries(runtime.engine, NINE - timedelta(hours=1), runtime.setup.config.zone)
        == []
    )
    [row] = store.deliveries(runtime.engine)
    store.set_status(runtime.engine, store.columns.id == row.id, NINE + timedelta(minutes=1),
                     reason=RESOLVED_BY_HAND)  # fmt: skip
    assert (
        events.deliveries(runtime.engine, NINE - timedelta(hours=1), runtime.setup.config.zone)
        == []
    )

"""The daily digest for a known day (manual clock, the daemon's time zone), the digest job on
the scheduler, token and crash events."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alert_standins import HookServer
from test_alert_worker import hook, target, worker  # noqa: F401  (the fixture)

from crosspost.alerts import events
from crosspost.alerts.digest import digest
from crosspost.service.runtime import Runtime
from crosspost.store import heartbeat
from crosspost.store.tables import DaemonBeat
from crosspost.timeutil import ManualClock

DIGEST = '\n[alerts]\ndigest = "18:00"\n'
PARIS_DAY = """
[[post]]
id = "morning"
at = 2026-03-02T09:00:00
accounts = ["box", "net"]
text = "Good morning"

[[post]]
id = "refused"
at = 2026-03-02T11:00:00
accounts = ["net"]
text = "This one fails"

[[post]]
id = "tomorrow-box"
at = 2026-03-03T10:30:00
accounts = ["box"]
text = "Tomorrow"

[[post]]
id = "weekly"
cron = "0 8 * * TUE"
accounts = ["net"]
text = "Every Tuesday"

[[post]]
id = "later"
at = 2026-03-05T10:00:00
accounts = ["net"]
text = "Not tomorrow"
"""


def test_the_digest_of_a_known_day(make_site, net, hook: HookServer, tmp_path: Path) -> None:  # noqa: F811
    clock = ManualClock(datetime(2026, 3, 2, 7, 0, tzinfo=UTC))
    config = make_site(PARIS_DAY, net_url=net.url, timezone="Europe/Paris",
                       extra=target(hook.hook_url()) + DIGEST)  # fmt: skip
    (tmp_path / "secrets.toml").write_text(
        '[accounts.net]\ntoken = "s3cr3t-token-value"\ntoken_expires_at = 2026-03-06\n'
    )
    runtime = Runtime(config, clock)
    for hour in (8, 10):  # 09:00 and 11:00 in Paris
        clock.set(datetime(2026, 3, 2, hour, 0, tzinfo=UTC))
        if hour == 10:
            net.script = [(400, {}, {"error": "duplicate content"}, 0)]
        runtime.tick(threading.Event())
    clock.set(datetime(2026, 3, 2, 17, 0, tzinfo=UTC))  # 18:00 in Paris
    event = digest(runtime.setup, runtime.engine, clock(), runtime.token_problems)
    assert event.key == "digest:2026-03-02"
    assert event.title == "crosspost, 2026-03-02: 2 published, 1 need a person"
    body = event.body
    published, needs, tomorrow, tokens = body.split("\n\n## ")
    assert "## Published today (2)" in published
    assert "- 09:00 **net**: morning — https://testnet.invalid/p/1" in published
    assert "**box**: morning" in published
    assert "failed **net**: refused" in needs and "duplicate content" in needs
    assert tomorrow.startswith("Planned tomorrow, Tuesday 03 March")
    assert "- **box**: 10:30 tomorrow-box" in tomorrow and "- **net**: 08:00 weekly" in tomorrow
    assert "later" not in tomorrow
    assert tokens.startswith("Tokens to renew") and "expires on 2026-03-06" in tokens
    # written twice (a restart at 18:00, a second daemon): one message
    alerts = worker(runtime, clock)
    assert alerts.note([event]) == 1 and alerts.note([event]) == 0


def test_the_digest_job_runs_at_its_time_in_the_daemons_zone(
    make_site,
    net,
    hook: HookServer,  # noqa: F811
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from crosspost.service.oversight import Oversight

    config = make_site("", net_url=net.url, timezone="Europe/Paris",
                       extra=target(hook.hook_url()) + DIGEST)  # fmt: skip
    runtime = Runtime(config, ManualClock(datetime(2026, 3, 2, 17, 0, tzinfo=UTC)))
    timer = BackgroundScheduler(timezone=UTC)
    watch = Oversight(runtime, timer)
    watch.sync()
    job = timer.get_job("digest")
    fires = job.trigger.get_next_fire_time(None, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    assert fires == datetime(2026, 3, 2, 18, 0, tzinfo=fires.tzinfo)
    assert fires.utcoffset() == timedelta(hours=1)  # Paris in winter
    watch.send_digest()  # what the job runs
    assert watch.alerts.cycle() == 1
    [sent] = hook.notifications()
    assert sent["title"].startswith("crosspost, 2026-03-02: 0 published")


def test_token_and_crash_events(make_site, net, clock, tmp_path: Path) -> None:
    config = make_site("", net_url=net.url)
    (tmp_path / "secrets.toml").write_text(
        '[accounts.net]\ntoken = "s3cr3t-token-value"\ntoken_expires_at = 2026-03-01\n'
    )
    runtime = Runtime(config, clock)
    [expired] = events.tokens(runtime.token_problems)
    assert expired.kind == "token_expired" and expired.key == "token_expired:net:2026-03-01"
    assert "`crosspost auth net`" in expired.body
    now = clock()
    host = runtime.host
    heartbeat.beat(
        runtime.engine, host, 999_999, now - timedelta(minutes=1), now - timedelta(hours=1)
    )
    heartbeat.beat(
        runtime.engine, host, os.getpid(), now - timedelta(minutes=2), now - timedelta(days=2)
    )
    heartbeat.beat(runtime.engine, "peer", 7, now - timedelta(minutes=1), now - timedelta(hours=1))
    heartbeat.beat(runtime.engine, "old", 8, now - timedelta(days=3), now - timedelta(days=4))
    heartbeat.beat(runtime.engine, "gone", 9, now - timedelta(hours=1), now - timedelta(hours=2))
    heartbeat.stopped(runtime.engine, "gone", 9, now - timedelta(hours=1))
    me = DaemonBeat(worker=runtime.worker, host=host, pid=os.getpid(), started_at=now, beat_at=now)
    found = {
        e.key.split(":")[1] + ":" + e.key.split(":")[2]
        for e in events.crashes(runtime.engine, now, me)
    }
    # a dead pid here, our own pid from an earlier process (a container); not the peer that
    # beat a minute ago, nor one that died days ago, nor one that stopped cleanly
    assert found == {f"{host}:999999", f"{host}:{os.getpid()}"}

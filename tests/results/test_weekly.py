"""The weekly report sent as an alert: `[alerts] report = "mon 08:00"` plans a cron job in
the daemon's zone; its message gives last week's totals per network and its HTML report goes
as an e-mail attachment (a local SMTP server over a real socket)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alert_standins import HookServer, MailServer
from apscheduler.schedulers.background import BackgroundScheduler

from crosspost.alerts.worker import AlertWorker
from crosspost.cli.main import main
from crosspost.results.collect import Collector
from crosspost.results.weekly import weekly
from crosspost.service.oversight import Oversight
from crosspost.service.runtime import Runtime

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
POST = """
[[post]]
id = "bread"
at = 2026-03-02T09:00:00
accounts = ["talk"]
text = "Our winter bread is back"
"""


def test_last_weeks_report_goes_by_mail_with_the_html_attached(
    talk_site, net, clock, tmp_path
) -> None:
    mail = MailServer()
    try:
        extra = '\n[alerts]\nreport = "mon 08:00"\n[alerts.targets.boss]\n'
        path = talk_site(POST, extra, timezone="Europe/Paris")
        with (tmp_path / "secrets.toml").open("a") as secrets:
            secrets.write(f'[alerts.boss]\nurl = "{mail.url()}"\n')
        runtime = Runtime(path, clock)
        clock.set(NINE)
        runtime.tick(threading.Event())
        collector = Collector(runtime.engine, clock, lambda: runtime.setup)
        collector.cycle()
        net.metrics["1"] = {"likes": 8, "replies": 2}
        clock.set(NINE + timedelta(hours=1))
        assert collector.cycle() == 1
        clock.set(datetime(2026, 3, 9, 7, 0, tzinfo=UTC))  # Monday 08:00 in Paris
        event = weekly(runtime.setup, runtime.engine, clock())
        assert event.kind == "report" and event.key == "report:2026-03-02"
        assert "2026-03-02 to 2026-03-08" in event.title
        assert "**commentnet**: 1 posts; 8 likes/reactions, 2 replies/comments" in event.body
        alerts = AlertWorker(runtime.engine, clock, lambda: runtime.setup, lambda: {})
        alerts.note([event])
        alerts.note([weekly(runtime.setup, runtime.engine, clock())])  # the same week: once
        assert alerts.send_due() == 1
        [message] = mail.received
        assert message["Subject"].startswith("Results of the week")
        [attached] = list(message.iter_attachments())
        assert attached.get_filename() == "report-2026-03-02.html"
        assert b"data:image/png;base64," in attached.get_content().encode()
    finally:
        mail.close()


def test_the_report_job_fires_on_the_weekday_in_the_daemons_zone(make_site, clock) -> None:
    extra = '\n[alerts]\nreport = "mon 08:00"\n'
    runtime = Runtime(make_site("", timezone="Europe/Paris", extra=extra), clock)
    timer = BackgroundScheduler(timezone=UTC)
    oversight = Oversight(runtime, timer)
    oversight.sync()
    job = timer.get_job("report")
    assert job is not None
    fires = job.trigger.get_next_fire_time(None, datetime(2026, 3, 4, tzinfo=UTC))
    assert fires == datetime(2026, 3, 9, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))


def test_a_report_time_that_does_not_parse_is_an_error_at_its_line(make_site, capsys) -> None:
    path = make_site("", extra='\n[alerts]\nreport = "monday 8am"\n')
    assert main(["-c", str(path), "check"]) == 78
    err = capsys.readouterr().err
    assert "crosspost.toml:" in err and "alerts.report" in err and '"mon 08:00"' in err


def started(runtime: Runtime) -> tuple[Oversight, BackgroundScheduler]:
    """The oversight of a daemon starting now (its scheduler not running: its jobs are read)."""
    timer = BackgroundScheduler(timezone=UTC)
    oversight = Oversight(runtime, timer)
    oversight.start(runtime.clock())
    return oversight, timer


def test_a_report_and_a_digest_missed_while_down_are_sent_at_start_once(make_site, clock) -> None:
    hook = HookServer()
    try:
        extra = (f'\n[alerts]\nreport = "mon 08:00"\ndigest = "18:00"\n'
                 f'[alerts.targets.team]\nurl = "{hook.hook_url()}"\n')  # fmt: skip
        runtime = Runtime(make_site("", timezone="Europe/Paris", extra=extra), clock)
        clock.set(datetime(2026, 3, 9, 9, 30, tzinfo=UTC))  # Monday 10:30 in Paris
        oversight, timer = started(runtime)
        assert timer.get_job("digest-late") is None  # 18:00 has not come yet
        late = timer.get_job("report-late")
        assert late is not None
        assert late.kwargs["due"] == datetime(2026, 3, 9, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))
        late.func(*late.args, **late.kwargs)  # what the scheduler runs
        assert oversight.alerts.cycle() == 1
        [sent] = hook.notifications()
        assert sent["title"] == "Results of the week: 2026-03-02 to 2026-03-08"
        assert started(runtime)[1].get_job("report-late") is None  # a restart: sent already

        clock.set(datetime(2026, 3, 9, 18, 30, tzinfo=UTC))  # 19:30: the digest's time passed
        oversight, timer = started(runtime)
        digest = timer.get_job("digest-late")
        assert digest is not None
        digest.func()
        assert oversight.alerts.cycle() == 1
        assert hook.notifications()[-1]["title"].startswith("crosspost, 2026-03-09:")
        assert started(runtime)[1].get_job("digest-late") is None

        clock.set(datetime(2026, 3, 19, 12, 0, tzinfo=UTC))  # Thursday: 3 days late, too late
        assert started(runtime)[1].get_job("report-late") is None
    finally:
        hook.close()

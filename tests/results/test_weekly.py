"""The weekly report sent as an alert: `[alerts] report = "mon 08:00"` plans a cron job in
the daemon's zone; its message gives last week's totals per network and its HTML report goes
as an e-mail attachment (a local SMTP server over a real socket)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alert_standins import MailServer
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

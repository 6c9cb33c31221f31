"""What tells people how the daemon is doing, beside the log: alerts, the daily digest and
the metrics endpoint, each on the daemon's one scheduler but on an executor of its own, so a
slow mail server or a scrape never holds a publish.

Alerts are looked for every 15 seconds and 2 seconds after a tick that may have changed
something (a burst of failures in those 2 seconds becomes one message); the digest is a
cron job at `[alerts] digest` in the daemon's time zone, re-planned on every reload. The
networks' numbers about sent posts are collected every minute, on a thread of their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crosspost import logs
from crosspost.alerts import events
from crosspost.alerts.digest import digest
from crosspost.alerts.worker import AlertWorker
from crosspost.config.alerts import metrics_address
from crosspost.results.collect import Collector
from crosspost.results.weekly import weekly
from crosspost.service.catch_up import owed_digest, owed_report
from crosspost.service.runtime import Runtime
from crosspost.store.tables import DaemonBeat

log = logs.get("crosspost.oversight")
EXECUTOR = "alerts"
MEASURES = "measures"  # collecting the networks' numbers: its own thread, never a publish's
COLLECT_EVERY = 60.0  # seconds between runs of the collector
LOOK_EVERY = 15.0  # seconds between looks for new alerts
GROUP_WINDOW = timedelta(seconds=2)  # after a tick: what else fails in this time comes along


class Oversight:
    def __init__(self, runtime: Runtime, timer: BaseScheduler) -> None:
        self.runtime, self.timer = runtime, timer
        self.alerts = AlertWorker(
            runtime.engine, runtime.clock, lambda: runtime.setup, lambda: runtime.token_problems
        )
        self.collector = Collector(runtime.engine, runtime.clock, lambda: runtime.setup)
        self._stop_metrics: Callable[[], None] | None = None
        self._digest_at = ""
        self._report_at = ""

    def start(self, started: datetime) -> None:
        """At the daemon's start, before its first heartbeat (which would overwrite a dead
        predecessor's row when the pid is the same, as in a container)."""
        me = DaemonBeat(
            worker=self.runtime.worker,
            host=self.runtime.host,
            pid=os.getpid(),
            started_at=started,
            beat_at=started,
        )
        self.alerts.note(events.crashes(self.runtime.engine, self.runtime.clock(), me))
        every = IntervalTrigger(seconds=LOOK_EVERY)
        self.timer.add_job(
            self.alerts.cycle,
            every,
            id="alerts",
            executor=EXECUTOR,
            next_run_time=datetime.now().astimezone(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
        )
        self.timer.add_job(
            self.collect,
            IntervalTrigger(seconds=COLLECT_EVERY),
            id="measures",
            executor=MEASURES,
            next_run_time=datetime.now().astimezone() + timedelta(seconds=5),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            replace_existing=True,
        )
        self.sync()
        self._catch_up()
        self._serve_metrics()

    def _catch_up(self) -> None:
        """The digest and the weekly report whose time passed while no daemon ran."""
        runtime = self.runtime
        now = runtime.clock()
        if not runtime.setup.config.alerts.targets:  # nobody to send them to
            return
        if owed_digest(runtime.setup, runtime.engine, now):
            log.info("the digest's time passed while the daemon was down: sending it now")
            self.timer.add_job(self.send_digest, id="digest-late", executor=EXECUTOR)
        due = owed_report(runtime.setup, runtime.engine, now)
        if due is not None:
            log.info("the weekly report's time passed while the daemon was down: sending it now",
                     due=due.isoformat())  # fmt: skip
            self.timer.add_job(self.send_report, id="report-late", executor=MEASURES,
                               kwargs={"due": due})  # fmt: skip

    def collect(self) -> None:
        try:
            self.collector.cycle()
        except Exception:  # a bug or a database hiccup: the next run tries again
            log.exception("cannot collect the networks' numbers")

    def sync(self) -> None:
        """Follow the config after a reload: the digest's time, and the daemon's zone."""
        config = self.runtime.setup.config
        self._sync_report()
        at = config.alerts.digest_time
        planned = f"{config.alerts.digest} {config.daemon.timezone}"
        if planned == self._digest_at:
            return
        self._digest_at = planned
        if self.timer.get_job("digest"):
            self.timer.remove_job("digest")
        if at is None:
            return
        trigger = CronTrigger(hour=at.hour, minute=at.minute, timezone=config.zone)
        self.timer.add_job(
            self.send_digest,
            trigger,
            id="digest",
            executor=EXECUTOR,
            misfire_grace_time=3600,
            coalesce=True,
        )
        log.info("digest planned", at=config.alerts.digest, timezone=config.daemon.timezone)

    def _sync_report(self) -> None:
        """The weekly report's cron job, at `[alerts] report` in the daemon's zone."""
        config = self.runtime.setup.config
        planned = f"{config.alerts.report} {config.daemon.timezone}"
        if planned == self._report_at:
            return
        self._report_at = planned
        if self.timer.get_job("report"):
            self.timer.remove_job("report")
        when = config.alerts.report_at
        if when is None:
            return
        day, at = when
        trigger = CronTrigger(day_of_week=day, hour=at.hour, minute=at.minute, timezone=config.zone)
        self.timer.add_job(self.send_report, trigger, id="report", executor=MEASURES,
                           misfire_grace_time=3600, coalesce=True)  # fmt: skip
        log.info("weekly report planned", at=config.alerts.report, timezone=config.daemon.timezone)

    def send_report(self, due: datetime | None = None) -> None:
        runtime = self.runtime
        try:
            self.alerts.note([weekly(runtime.setup, runtime.engine, runtime.clock(), due)])
        except Exception:
            log.exception("cannot write the weekly report")
        self.nudge(timedelta(0))

    def send_digest(self) -> None:
        runtime = self.runtime
        try:
            event = digest(runtime.setup, runtime.engine, runtime.clock(), runtime.token_problems)
            self.alerts.note([event])
        except Exception:
            log.exception("cannot write the digest")
        self.nudge(timedelta(0))

    def nudge(self, after: timedelta = GROUP_WINDOW) -> None:
        """Look for alerts soon (never later than already planned)."""
        job = self.timer.get_job("alerts")
        soon = datetime.now().astimezone() + after
        if job is not None and job.next_run_time is not None and job.next_run_time > soon:
            job.modify(next_run_time=soon)

    def _serve_metrics(self) -> None:
        config = self.runtime.setup.config
        if not config.daemon.metrics:
            return
        from crosspost.service.metrics import serve  # prometheus_client only when wanted

        address = metrics_address(config.daemon.metrics)
        try:
            self._stop_metrics = serve(address, self.runtime.engine)
        except OSError as exc:
            problem = config.problem("daemon", 0, "metrics", f"cannot serve metrics: {exc}")
            log.error(
                "metrics not served; publishing goes on",
                problem=str(problem),
                fix="choose a free port, then restart the daemon",
            )
            return
        log.info("metrics served", url=f"http://{address[0]}:{address[1]}/metrics")

    def stop(self) -> None:
        if self._stop_metrics is not None:
            self._stop_metrics()

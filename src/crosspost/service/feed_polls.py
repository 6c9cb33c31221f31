"""Polling the feeds: each feed is a job on the daemon's one scheduler, a few at a time.

Each feed's next poll is a date job on the daemon's APScheduler (the same scheduler that
wakes the publisher and runs the periodic jobs), at the time its last poll chose: its
interval with jitter, or a backoff after a failure, kept in the database so a restart keeps
the rhythm. The jobs run on the scheduler's "feeds" executor (see `service.jobs`), `WORKERS`
at a time, off the publishing path, so a slow feed never holds up another feed, the
calendar, or a SIGTERM (a fetch still running at exit is dropped: its items are not marked
seen, so the next start sees them again). A fetch holds its worker for at most one deadline
(`fetch.TOTAL_SECONDS`), and there are more workers than a few broken feeds can take.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.date import DateTrigger

from crosspost import logs
from crosspost.service.runtime import Runtime
from crosspost.sources.feeds.fetch import new_client
from crosspost.sources.feeds.poller import poll
from crosspost.sources.feeds.state import all_states

log = logs.get("crosspost.feeds")
WORKERS = 8  # as many as the daemon gives the "feeds" executor
EXECUTOR = "feeds"
PREFIX = "feed:"


class FeedPolls:
    def __init__(
        self, runtime: Runtime, scheduler: BaseScheduler | None, on_queued: Callable[[], object]
    ) -> None:
        self.runtime, self.scheduler, self.on_queued = runtime, scheduler, on_queued
        self.client = new_client()
        self._stored: dict[str, datetime | None] | None = None

    def poll_all(self) -> int:
        """Poll every feed once, now, `WORKERS` at a time (`run --once`)."""
        config, engine, now = self.runtime.setup.config, self.runtime.engine, self.runtime.clock()
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="feed") as pool:
            results = pool.map(
                lambda name: poll(engine, self.client, config, name, now), config.feeds
            )
            return sum(queued for queued, _ in results)

    def sync(self) -> None:
        """At start and after every reload: a job for each feed of the config (at its
        stored next poll, or now), none for a feed that is gone; a job already planned
        keeps its time."""
        assert self.scheduler is not None
        if self._stored is None:
            self._stored = {n: s.next_poll for n, s in all_states(self.runtime.engine).items()}
        feeds = self.runtime.setup.config.feeds
        planned = {job.id for job in self.scheduler.get_jobs() if job.id.startswith(PREFIX)}
        for job_id in planned - {PREFIX + name for name in feeds}:
            self.scheduler.remove_job(job_id)
        for name in feeds:
            if PREFIX + name not in planned:
                self._plan(name, self._stored.get(name) or self.runtime.clock())

    def _plan(self, name: str, when: datetime) -> None:
        assert self.scheduler is not None
        self.scheduler.add_job(
            self._poll,
            DateTrigger(run_date=max(when, self.runtime.clock())),
            args=(name,),
            id=PREFIX + name,
            executor=EXECUTOR,
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )

    def _poll(self, name: str) -> None:
        config = self.runtime.setup.config  # follows reloads
        if name not in config.feeds:
            return
        try:
            queued, at = poll(self.runtime.engine, self.client, config, name, self.runtime.clock())
        except Exception:  # a bug in one poll must not stop the others
            log.exception("feed poll crashed", feed=name)
            queued, at = 0, self.runtime.clock() + timedelta(minutes=10)
        if name in self.runtime.setup.config.feeds:
            self._plan(name, at)
        if queued:
            self.on_queued()

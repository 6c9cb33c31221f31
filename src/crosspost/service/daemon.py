"""The long-running service: threads, signals, timers, file watching, systemd protocol.

* one APScheduler (in memory: the database stays the source of truth) drives every timed
  thing: it wakes the worker exactly when the next delivery is due, and every minute for
  housekeeping (lease recovery, paused accounts), checks tokens daily, and runs each feed's
  next poll (see `feed_polls`), on daemon threads (see `jobs`);
* the worker thread ticks the runtime whenever the scheduler, a reload or a lane wakes it;
* watchfiles watches the config and calendar directories (editors save by rename), SIGHUP
  does the same by hand; either reloads within a second;
* the main thread handles signals and pings systemd's watchdog while the worker is healthy;
* the worker records a heartbeat in the database (at least once a minute, and a clean
  stop), which `crosspost status` reads;
* the worker hands due deliveries to per-account lanes (see `lanes`) and returns; a lane
  that finishes wakes it again;
* SIGTERM: stop claiming, let the publishes in flight finish for up to 8 s, else queue each
  to be looked up on the network by the next start (in_doubt if the network cannot be
  asked), and exit 0.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crosspost import logs
from crosspost.service import oversight, sdnotify
from crosspost.service.jobs import DaemonThreads
from crosspost.service.runtime import Runtime
from crosspost.store import heartbeat

if TYPE_CHECKING:
    from crosspost.service.feed_polls import FeedPolls

log = logs.get("crosspost.daemon")
IDLE_TICK = 60.0  # housekeeping at least once a minute, even with nothing scheduled
EXECUTOR, WORKERS = "feeds", 8  # the feed polls' own executor, so they never hold the rest
SHUTDOWN_GRACE = 8.0
TOKEN_CHECK_EVERY = timedelta(days=1)


class Daemon:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.stop = threading.Event()
        self.wake = threading.Event()
        self.reload = threading.Event()
        self.heartbeat = time.monotonic()
        self.timer = BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": DaemonThreads(4),
                EXECUTOR: DaemonThreads(WORKERS),
                oversight.EXECUTOR: DaemonThreads(1),  # alerts and the digest, one at a time
                oversight.MEASURES: DaemonThreads(1),  # collecting the networks' numbers
            },
        )
        self.oversight = oversight.Oversight(runtime, self.timer)
        self.feeds: FeedPolls | None = None
        self.started = runtime.clock()
        self._last_beat = datetime.min.replace(tzinfo=UTC)

    def serve(self) -> int:
        wakeup, written = socket.socketpair()
        try:
            for end in (wakeup, written):
                end.setblocking(False)
            signal.set_wakeup_fd(written.fileno(), warn_on_full_buffer=False)
            return self._serve(wakeup)
        finally:
            signal.set_wakeup_fd(-1)
            wakeup.close()
            written.close()

    def _sleep(self, wakeup: socket.socket, seconds: float) -> bool:
        """Wait `seconds`, or less when a stop is asked; True once it is. The kernel hands
        a signal to any thread, and Python runs its handler only in the main thread: one
        blocked in a plain wait slept on through a SIGTERM for up to a minute. Whichever
        thread the signal reaches writes to the wakeup socket, which wakes this one."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if select.select([wakeup], [], [], left)[0]:
                with contextlib.suppress(BlockingIOError):
                    wakeup.recv(512)
        return True

    def _serve(self, wakeup: socket.socket) -> int:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)
        self.timer.start()
        self.schedule_housekeeping()
        # before the worker's first beat (it looks for a crash) and its first publish
        # (the metrics count it)
        self.oversight.start(self.started)
        worker = threading.Thread(target=self._work, name="worker", daemon=True)
        watcher = threading.Thread(target=self._watch, name="watcher", daemon=True)
        worker.start()
        watcher.start()
        self._sync_feeds()
        self._beat()
        sdnotify.notify("READY=1\nSTATUS=running")
        log.info(
            "ready",
            posts=len(self.runtime.setup.calendar.posts),
            accounts=len(self.runtime.setup.adapters),
        )
        ping = sdnotify.watchdog_interval()
        while not self._sleep(wakeup, ping or IDLE_TICK):
            alive = max(self.heartbeat, self.runtime.dispatcher.progress)
            if ping and time.monotonic() - alive < 2 * IDLE_TICK + 30:
                sdnotify.notify("WATCHDOG=1")
        sdnotify.notify("STOPPING=1")
        log.info("stopping")
        self.timer.shutdown(wait=False)
        self.wake.set()
        began = time.monotonic()
        worker.join(SHUTDOWN_GRACE)
        left = max(SHUTDOWN_GRACE - (time.monotonic() - began), 0.0)
        dispatcher = self.runtime.dispatcher
        if worker.is_alive() or not dispatcher.lanes.wait_idle(left):
            abandoned = dispatcher.abandon_in_flight(self.runtime.setup)
            log.warning("stopped during a publish", deliveries=[d.id for d in abandoned])
        self._beat(stopping=True)
        self.oversight.stop()
        log.info("stopped")
        return 0

    def schedule_housekeeping(self) -> None:
        """Timed jobs besides publishing, on the one scheduler: a tick every minute even
        with nothing due (lease recovery, paused accounts verified again), and token expiry
        daily (at start, loading the secrets already reported it)."""
        self._plan("housekeeping", self.wake.set, IntervalTrigger(seconds=IDLE_TICK))
        every_day = IntervalTrigger(seconds=TOKEN_CHECK_EVERY.total_seconds())
        self._plan("tokens", self.runtime.check_tokens, every_day)

    def _plan(self, job_id: str, job: Callable[[], object], trigger: BaseTrigger) -> None:
        """One job of the scheduler, replaced when planned again; run however late it is
        (a suspended laptop, a busy host), and once for several missed runs."""
        self.timer.add_job(
            job, trigger, id=job_id, replace_existing=True, misfire_grace_time=None, coalesce=True
        )

    def _work(self) -> None:
        self.runtime.dispatcher.on_done = self.wake.set  # a lane is free: its next may go
        while not self.stop.is_set():
            self.wake.clear()  # before the tick: a wake-up during it is kept, never lost
            self.heartbeat = time.monotonic()
            try:
                if self.reload.is_set():
                    self.reload.clear()
                    self.runtime.reload()
                    self._sync_feeds()
                    self.oversight.sync()
                self.runtime.tick(self.stop, wait=False)
                self.oversight.nudge()
                self._arm_timer()
            except Exception:
                log.exception("tick failed; retrying in a minute")
            self._beat()
            self.wake.wait()  # the scheduler wakes it at least every minute

    def _beat(self, stopping: bool = False) -> None:
        """Say that this daemon is alive (at most every 15 s; the minute's housekeeping
        tick makes it at least once a minute), or that it stopped cleanly. A database that
        cannot take it now is logged: the next beat tries again."""
        now = self.runtime.clock()
        if not stopping and now - self._last_beat < heartbeat.BEAT_EVERY:
            return
        engine, host, pid = self.runtime.engine, self.runtime.host, os.getpid()
        try:
            if stopping:
                heartbeat.stopped(engine, host, pid, now)
            else:
                heartbeat.beat(engine, host, pid, now, self.started)
        except Exception as exc:
            log.warning("cannot record the heartbeat", reason=str(exc))
        self._last_beat = now

    def _sync_feeds(self) -> None:
        """Each feed's poll job follows the config (at start and on every reload); without
        feeds, httpx and feedparser are not even imported (5 MB less resident)."""
        if self.feeds is None and not self.runtime.setup.config.feeds:
            return
        if self.feeds is None:
            from crosspost.service.feed_polls import FeedPolls

            self.feeds = FeedPolls(self.runtime, self.timer, on_queued=self.wake.set)
        self.feeds.sync()

    def _arm_timer(self) -> None:
        when = self.runtime.next_wake()
        if when is None:
            return
        if when <= datetime.now(UTC):
            self.wake.set()
            return
        self._plan("wake", self.wake.set, DateTrigger(run_date=when))

    def _watch(self) -> None:
        """Reload when the config, a calendar or the secrets change.

        Events come from inotify on the folders (editors save by rename, so files are not
        watched one by one). Every yield, events or not, also compares the files' sizes and
        times with what the runtime last loaded, which catches an edit made before the
        watch was armed, or one whose event was missed.
        """
        from watchfiles import watch  # imported here: only the daemon needs it

        config = self.runtime.setup.config
        patterns = [str(config.path), *(str(config.resolve(p)) for p in config.daemon.calendars)]
        if config.secrets_path():
            patterns.append(str(config.secrets_path()))
        if config.charter.file:
            patterns.append(str(config.resolve(config.charter.file)))
        folders = sorted({str(Path(p).parent) for p in patterns if Path(p).parent.is_dir()})
        for changes in watch(
            *folders,
            stop_event=self.stop,
            recursive=False,
            debounce=100,
            step=200,
            rust_timeout=2000,
            yield_on_timeout=True,
            raise_interrupt=False,
        ):
            changed = [path for _, path in changes]
            named = any(fnmatch.fnmatch(path, pat) for path in changed for pat in patterns)
            if (named or self.runtime.files_changed()) and not self.reload.is_set():
                log.info("files changed, reloading", files=",".join(sorted(set(changed))))
                self.reload.set()
                self.wake.set()

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal received", signal=signal.Signals(signum).name)
        self.stop.set()

    def _on_hup(self, _signum: int, _frame: FrameType | None) -> None:
        self.reload.set()
        self.wake.set()

"""The daemon's state between ticks: the loaded setup, the planner, the dispatcher.

A tick is: materialise what fell due, publish what is queued and due, work out when to wake
next. `run --once` is one tick; the daemon is ticks driven by a timer. Time comes from an
injected clock, so tests drive schedules without sleeping.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crosspost import logs, store
from crosspost.adapter import KeepsCredentials, PublishError, profile_of
from crosspost.config.problems import ConfigError, Problem
from crosspost.config.secrets import EXPIRES, WARN_BEFORE, load_secrets
from crosspost.delivery import claims
from crosspost.delivery.dispatch import Dispatcher
from crosspost.model import Source, Status
from crosspost.service.assembly import load_setup
from crosspost.service.memory import release_memory
from crosspost.sources import approval
from crosspost.sources.calendar import calendar_files
from crosspost.sources.planner import Planner
from crosspost.sources.queue import QUEUE
from crosspost.timeutil import Clock, system_clock

log = logs.get("crosspost.runtime")
LEASE = timedelta(minutes=15)  # the default of [daemon] lease
VERIFY_PAUSED_EVERY = timedelta(minutes=10)
CLAIM_MARGIN = timedelta(milliseconds=50)  # a lease is over once strictly past it
RECOVER_EVERY = 1.0  # seconds between looks for dead daemons' claims during a long run


class Runtime:
    def __init__(
        self, config_path: Path, clock: Clock = system_clock, state_dir: Path | None = None
    ) -> None:
        self.path, self.clock, self.state_dir = config_path, clock, state_dir
        self.setup = load_setup(config_path, state_dir=state_dir)
        self.loaded_files = self._file_stamps()  # ConfigError propagates: exit 78
        self.engine = store.open_engine(self.setup.config.database_url)
        self.host = socket.gethostname()
        self.worker = f"{self.host}:{os.getpid()}"
        self.planner = Planner(self.engine)
        lanes = self.setup.config.daemon.lanes
        self.dispatcher = Dispatcher(self.engine, self.worker, clock, lanes)
        self.last_verify = datetime.min.replace(tzinfo=clock().tzinfo)
        self._reported: set[str] = set()
        self.token_problems: list[Problem] = []  # tokens expiring or expired, for alerts
        self._report_problems()
        self._pause_unavailable()
        self._first_recovery = True  # rows claimed under our pid are a dead process's
        self._recovered = 0.0  # when recover_interrupted last looked (monotonic)
        self.planner.load(self.setup.config, self.setup.calendar, clock())
        approval.requeue_approved(self.engine, self.setup.config, self.setup.calendar, clock())
        release_memory()

    def reload(self) -> bool:
        """Re-read every file; an invalid config keeps the last good one running."""
        self.loaded_files = self._file_stamps()  # before reading: an edit during it counts
        try:
            fresh = load_setup(self.path, previous=self.setup, state_dir=self.state_dir)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error("config invalid, keeping the last good one", problem=str(problem))
            return False
        if fresh.config.database_url != self.setup.config.database_url:
            log.warning("database changed in the config; restart the daemon to use it")
        self.setup = fresh
        release_memory()
        self._report_problems()
        self._pause_unavailable()
        self.last_verify = datetime.min.replace(tzinfo=UTC)  # paused accounts: verify now
        cancelled = self._cancel_orphans()  # first: a post queued again finds its slot free
        self.planner.load(fresh.config, fresh.calendar, self.clock())
        approval.requeue_approved(self.engine, fresh.config, fresh.calendar, self.clock())
        log.info(
            "reloaded",
            posts=len(fresh.calendar.posts),
            cancelled=cancelled,
            problems=len(fresh.problems),
        )
        return True

    def files_changed(self) -> bool:
        """Whether a watched file differs (size or time) from when it was last loaded."""
        return self._file_stamps() != self.loaded_files

    def _file_stamps(self) -> dict[str, tuple[int, int]]:
        config = self.setup.config
        paths = [self.path, *calendar_files(config)[0]]
        secrets = config.secrets_path()
        if secrets:
            paths.append(secrets)
        if config.charter.file:
            paths.append(config.resolve(config.charter.file))
        stamps = {}
        for path in paths:
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps[str(path)] = (stat.st_mtime_ns, stat.st_size)
        return stamps

    def tick(self, stop: threading.Event, wait: bool = True) -> int:
        """Materialise what fell due and hand what is due to the lanes; `wait`: until every
        lane is done (`run --once`, tests), else return at once (the daemon)."""
        now = self.clock()
        self.planner.materialise_due(now)
        if now - self.last_verify >= VERIFY_PAUSED_EVERY:
            self.last_verify = now
            self.verify_paused()
        # after a crash, and a dead peer's claims after the lease: before every claim
        self.recover_interrupted()
        return self.dispatcher.run_due(self.setup, stop, self._recover_now_and_then, wait)

    def _recover_now_and_then(self) -> None:
        """During a long run, look for dead daemons' claims once a second, not before every
        claim (a burst of 500 deliveries spent 40% of its time looking)."""
        if time.monotonic() - self._recovered >= RECOVER_EVERY:
            self.recover_interrupted()

    def next_wake(self) -> datetime | None:
        now, lease = self.clock(), self.setup.config.lease
        expiry = claims.lease_runs_out(self.engine, now, lease)
        nexts = (
            self.planner.next_due(),
            claims.next_attempt(self.engine, now, self.dispatcher.lanes.busy()),
            expiry + CLAIM_MARGIN if expiry else None,  # then a dead peer's claim is free
        )
        times = [t for t in nexts if t]
        return min(times) if times else None

    def recover_interrupted(self) -> int:
        """Settle `sending` rows whose worker is gone: on this host a process that no longer
        runs, on any host (several daemons share PostgreSQL) a claim older than the lease.
        Each is taken over atomically, so exactly one daemon settles it, and reconciled with
        the network before it is called in_doubt."""
        now, lease = self.clock(), self.setup.config.lease
        settled = 0
        for row in store.deliveries(self.engine, store.columns.status == Status.SENDING):
            host, _, pid = (row.claimed_by or "").rpartition(":")
            if row.claimed_by == self.worker and not self._first_recovery:
                continue  # in flight in this process
            dead_here = host == self.host and not _alive(pid, self._first_recovery)
            expired = row.claimed_at is not None and now - row.claimed_at > lease
            if not (dead_here or expired):
                continue
            taken = claims.take_over(self.engine, row, self.worker, now)
            if taken is not None:
                self.dispatcher.settle_interrupted(self.setup, taken)
                settled += 1
        self._first_recovery = False
        self._recovered = time.monotonic()
        return settled

    def _keep_credentials(self) -> dict[str, Problem | None]:
        """Adapters that renew their own credentials: renewed now, and what their own
        expiry says (it replaces the secrets file's date, which predates the renewals)."""
        found: dict[str, Problem | None] = {}
        now = self.clock()
        for name, adapter in self.setup.adapters.items():
            if not isinstance(adapter, KeepsCredentials):
                continue
            try:
                until = adapter.keep_credentials(now)
            except PublishError as exc:
                log.warning("cannot renew credentials", account=name, reason=str(exc))
                continue
            if until is None:
                continue
            store.set_meta(self.engine, store.KEPT_EXPIRY + name, until.isoformat())  # for status
            found[name] = None
            if until - now <= WARN_BEFORE:
                verb = "expired on" if until <= now else "expires on"
                found[name] = Problem(
                    str(self.setup.config.secrets_path() or ""),
                    0,
                    f"accounts.{name}.access_token{EXPIRES}",
                    f"the credentials of {name} {verb} {until:%Y-%m-%d} even after renewal",
                    "error" if until <= now else "warning",
                )
        return found

    def check_tokens(self) -> int:
        """Log (daily) and keep for alerts the tokens that expire within 7 days or have."""
        path = self.setup.config.secrets_path()
        if path is None or not path.is_file():
            return 0
        try:
            _, problems = load_secrets(path, self.clock())
        except ConfigError as exc:
            problems = exc.problems
        kept = self._keep_credentials()
        expiring = [
            p for p in problems if p.key.endswith(EXPIRES) and p.key.split(".")[1] not in kept
        ]
        expiring += [p for p in kept.values() if p is not None]
        self.token_problems = expiring
        for problem in expiring:
            account = problem.key.split(".")[1]
            getattr(log, "error" if problem.severity == "error" else "warning")(
                "token expires" if problem.severity != "error" else "token expired",
                account=account,
                problem=str(problem),
                fix=f"crosspost auth {account}",
            )
        return len(expiring)

    def verify_paused(self) -> None:
        """An account paused by an auth error resumes as soon as its credentials verify."""
        for name in store.paused_accounts(self.engine):
            adapter = self.setup.adapters.get(name)
            if adapter is None:
                continue
            try:
                handle = profile_of(adapter.verify()).handle
            except PublishError as exc:
                log.warning("account still paused", account=name, reason=str(exc))
                continue
            store.pause_account(self.engine, name, None, self.clock())
            log.info("account resumed", account=name, handle=handle)

    def _cancel_orphans(self) -> int:
        now, posts = self.clock(), self.setup.calendar.posts
        orphans = [
            row.id
            for row in store.deliveries(
                self.engine,
                store.columns.status == Status.QUEUED,
                store.columns.source == Source.CALENDAR,
            )
            if row.post_id not in posts
            or row.account not in posts[row.post_id].accounts
            or posts[row.post_id].draft
            or (row.occurrence == QUEUE) != posts[row.post_id].queue  # queued, or timed, now
        ]
        for delivery_id in orphans:
            store.set_status(
                self.engine,
                store.columns.id == delivery_id,
                now,
                status=Status.CANCELLED,
                reason="removed from the calendar",
            )
        return len(orphans)

    def _pause_unavailable(self) -> None:
        """An account whose secrets are missing or unusable waits, paused, while the others
        publish; it resumes once it verifies (after the secrets file is fixed and reloaded)."""
        if not self.setup.unavailable:
            return
        paused = store.paused_accounts(self.engine)
        for name, reason in self.setup.unavailable.items():
            if paused.get(name) != reason:
                store.pause_account(self.engine, name, reason, self.clock())
                log.error(
                    "account paused",
                    account=name,
                    reason=reason,
                    fix="fix the secrets file, then: systemctl reload crosspost",
                )

    def _report_problems(self) -> None:
        """Log each problem once: a reload repeats only what is new or changed. The
        secrets file's token expiries are kept for alerts until the daily check (accounts
        whose adapter renews its own credentials excepted: their file dates are stale)."""
        self.token_problems = [
            p for p in load_secrets(self.setup.config.secrets_path(), self.clock())[1]
            if p.key.endswith(EXPIRES)
            and not store.get_meta(self.engine, store.KEPT_EXPIRY + p.key.split(".")[1])
        ]  # fmt: skip
        levels = {"warning": "warning", "note": "info"}
        current = {str(problem): problem for problem in self.setup.problems}
        for text, problem in current.items():
            if text not in self._reported:
                getattr(log, levels.get(problem.severity, "error"))(
                    "calendar problem", problem=text, fix="crosspost check"
                )
        self._reported = set(current)


def _alive(pid: str, first_recovery: bool) -> bool:
    """Is that process running? At our first recovery, our own pid means an earlier process
    that had it (a container's pid 1): dead; later, it means us."""
    try:
        if int(pid) == os.getpid():
            return not first_recovery
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True

"""Where the daemon's timed jobs run: APScheduler's executor, on daemon threads.

The daemon has one scheduler (APScheduler, in memory: the database stays the source of
truth) for every timed thing: the publisher's next wake-up, the minute's housekeeping, the
daily token check, and each feed's next poll. Its jobs run here rather than on APScheduler's
standard thread pool, whose threads the interpreter waits for at exit: a job still running
then (a feed fetch, a token check against a network that hangs) is dropped, not waited for,
so SIGTERM stays quick. Jobs are bounded by `workers` per executor.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job


class DaemonThreads(BaseExecutor):  # type: ignore[misc]  # APScheduler 3 ships no types
    def __init__(self, workers: int) -> None:
        super().__init__()
        self._slots = threading.BoundedSemaphore(workers)

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        def work() -> None:
            with self._slots:
                try:
                    events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
                except BaseException:
                    self._run_job_error(job.id, *sys.exc_info()[1:])
                else:
                    self._run_job_success(job.id, events)

        threading.Thread(target=work, name=f"job-{job.id}", daemon=True).start()

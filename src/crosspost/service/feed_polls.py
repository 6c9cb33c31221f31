"""Running the feed polls: each feed when it is due, a few at a time, off the publishing path.

Polls run in daemon worker threads fed by a queue, so a slow feed never holds up another
feed, the calendar, or a SIGTERM (a fetch still running at exit is simply dropped: its items
are not marked seen, so the next start sees them again). A fetch holds its worker for at
most one deadline (`fetch.TOTAL_SECONDS`), and there are more workers than a few broken
feeds can take.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from crosspost import logs
from crosspost.service.runtime import Runtime
from crosspost.sources.feeds.fetch import new_client
from crosspost.sources.feeds.poller import poll
from crosspost.sources.feeds.state import all_states

log = logs.get("crosspost.feeds")
WORKERS = 8


class FeedScheduler:
    def __init__(self, runtime: Runtime, on_queued: Callable[[], None]) -> None:
        self.runtime, self.on_queued = runtime, on_queued
        self.client = new_client()
        self.next_poll: dict[str, datetime] = {}
        self.busy: set[str] = set()
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.jobs: queue.Queue[str] = queue.Queue()

    def poll_all(self) -> int:
        """Poll every feed once, now, `WORKERS` at a time (`run --once`)."""
        config, engine, now = self.runtime.setup.config, self.runtime.engine, self.runtime.clock()
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="feed") as pool:
            results = pool.map(
                lambda name: poll(engine, self.client, config, name, now), config.feeds
            )
            return sum(queued for queued, _ in results)

    def serve(self, stop: threading.Event) -> None:
        """The scheduling loop; call in its own thread."""
        for number in range(WORKERS):
            threading.Thread(target=self._work, name=f"feed-{number}", daemon=True).start()
        stored = {name: state.next_poll for name, state in all_states(self.runtime.engine).items()}
        while not stop.is_set():
            now = self.runtime.clock()
            feeds = self.runtime.setup.config.feeds  # follows reloads
            with self.lock:
                for name in list(self.next_poll):
                    if name not in feeds:
                        del self.next_poll[name]
                for name in feeds:
                    self.next_poll.setdefault(name, stored.get(name) or now)
                due = [n for n, at in self.next_poll.items() if at <= now and n not in self.busy]
                self.busy.update(due)
                waiting = [at for n, at in self.next_poll.items() if n not in self.busy]
            for name in due:
                self.jobs.put(name)
            wait = (min(waiting) - now).total_seconds() if waiting else 60.0
            self.changed.wait(min(max(wait, 0.05), 60.0))
            self.changed.clear()

    def reloaded(self) -> None:
        self.changed.set()

    def _work(self) -> None:
        while True:
            name = self.jobs.get()
            config = self.runtime.setup.config
            try:
                if name in config.feeds:
                    queued, at = poll(
                        self.runtime.engine, self.client, config, name, self.runtime.clock()
                    )
                else:
                    queued, at = 0, self.runtime.clock()
            except Exception:  # a bug in one poll must not stop the others
                log.exception("feed poll crashed", feed=name)
                queued, at = 0, self.runtime.clock() + timedelta(minutes=10)
            with self.lock:
                self.busy.discard(name)
                self.next_poll[name] = at
            if queued:
                self.on_queued()
            self.changed.set()

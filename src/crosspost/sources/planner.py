"""When calendar occurrences fall due, they become delivery rows.

A heap holds each post's next occurrence, so a tick costs O(due posts), not O(calendar), and
a 10,000-post calendar idles without polling. Rows are inserted with their stable key, so
materialising the same occurrence twice is harmless. After downtime, an occurrence late by
less than `catch_up` is queued; an older one is recorded as `missed` and logged: never
silently dropped, never a flood.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from crosspost import logs, store
from crosspost.config.settings import Config
from crosspost.model import Source, Status
from crosspost.sources.calendar import ONCE, Calendar, Post

WATERMARK = "calendar_watermark"
log = logs.get("crosspost.planner")


class Planner:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.heap: list[tuple[datetime, str, str]] = []  # (due, post id, occurrence key)
        self.calendar = Calendar()

    def load(self, config: Config, calendar: Calendar, now: datetime) -> int:
        """(Re)build timers from the calendar, and catch up on what fell due while away."""
        self.config, self.calendar = config, calendar
        zone = config.zone
        self.heap = []
        for post in calendar.posts.values():
            if not post.draft and (nxt := post.next_after(now, zone)) is not None:
                self.heap.append((nxt[1], post.id, nxt[0]))
        heapq.heapify(self.heap)
        return self._catch_up(now)

    def next_due(self) -> datetime | None:
        return self.heap[0][0] if self.heap else None

    def materialise_due(self, now: datetime) -> int:
        """Insert rows for every occurrence due by `now`; re-arm each post's next one."""
        rows: list[dict[str, Any]] = []
        zone = self.config.zone
        while self.heap and self.heap[0][0] <= now:
            due, post_id, occurrence = heapq.heappop(self.heap)
            post = self.calendar.posts.get(post_id)
            if post is None:
                continue
            rows += self._rows(post, occurrence, due, now)
            if (nxt := post.next_after(due, zone)) is not None:
                heapq.heappush(self.heap, (nxt[1], post.id, nxt[0]))
        inserted = self._insert(rows)
        store.set_meta(self.engine, WATERMARK, now.isoformat())
        return inserted

    def _catch_up(self, now: datetime) -> int:
        mark = store.get_meta(self.engine, WATERMARK)
        lower = datetime.fromisoformat(mark) if mark else now - self.config.catch_up
        zone = self.config.zone
        done_once = store.existing_keys(self.engine, store.columns.occurrence == ONCE)
        rows: list[dict[str, Any]] = []
        for post in self.calendar.posts.values():
            if post.draft:
                continue
            if post.at is not None:
                if post.at <= now:
                    rows += [
                        row
                        for row in self._rows(post, ONCE, post.at, now)
                        if row["key"] not in done_once
                    ]
                continue
            for occurrence, due in post.occurrences(min(lower, now), now, zone):
                rows += self._rows(post, occurrence, due, now)
        inserted = self._insert(rows)
        store.set_meta(self.engine, WATERMARK, now.isoformat())
        return inserted

    def _insert(self, rows: list[dict[str, Any]]) -> int:
        """Insert what is new; a missed delivery is logged once, when its row is made (not
        again at every reload that computes it again)."""
        created = store.insert_new_ids(self.engine, rows)
        for row in rows:
            if row["status"] == Status.MISSED and row["key"] in created:
                ident = created[row["key"]]
                log.warning(
                    "delivery missed",
                    delivery=ident,
                    post=row["post_id"],
                    account=row["account"],
                    due=row["due_at"].isoformat(),
                    reason=row["reason"],
                    fix=f"if it is still worth sending: crosspost retry {ident}",
                )
        return len(created)

    def _rows(
        self, post: Post, occurrence: str, due: datetime, now: datetime
    ) -> Iterable[dict[str, Any]]:
        late = now - due
        missed = late > self.config.catch_up
        for account in post.accounts:
            row = {
                "key": f"{post.id}|{occurrence}|{account}",
                "source": Source.CALENDAR,
                "post_id": post.id,
                "occurrence": occurrence,
                "account": account,
                "due_at": due,
                "status": Status.MISSED if missed else Status.QUEUED,
                "attempts": 0,
                "next_attempt_at": due,
                "updated_at": now,
                "reason": (
                    f"late by {_human(late)} when first seen; catch_up is "
                    f"{self.config.daemon.catch_up}"
                )
                if missed
                else None,
            }
            yield row


def _human(delta: Any) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"

"""When calendar occurrences fall due, they become delivery rows.

A heap holds each post's next occurrence, so a tick costs O(due posts), not O(calendar), and
a 10,000-post calendar idles without polling. Rows are inserted with their stable key, so
materialising the same occurrence twice is harmless. After downtime, an occurrence late by
less than `catch_up` is queued; an older one is recorded as `missed` and logged: never
silently dropped, never a flood.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

from sqlalchemy import Engine

from crosspost import logs, store
from crosspost.config.settings import Config
from crosspost.model import Occurrence, Source
from crosspost.sources.calendar import ONCE, Calendar, Post
from crosspost.sources.queue import queued, reserve
from crosspost.timeutil import format_duration

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
        caught_up = self._catch_up(now)
        return caught_up + reserve(self.engine, queued(self.engine, config, calendar, now), now)

    def next_due(self) -> datetime | None:
        return self.heap[0][0] if self.heap else None

    def materialise_due(self, now: datetime) -> int:
        """Insert rows for every occurrence due by `now`; re-arm each post's next one."""
        due_now: list[Occurrence] = []
        zone = self.config.zone
        while self.heap and self.heap[0][0] <= now:
            due, post_id, occurrence = heapq.heappop(self.heap)
            post = self.calendar.posts.get(post_id)
            if post is None:
                continue
            due_now += self._occurrences(post, occurrence, due, now)
            if (nxt := post.next_after(due, zone)) is not None:
                heapq.heappush(self.heap, (nxt[1], post.id, nxt[0]))
        inserted = self._insert(due_now, now)
        store.set_meta(self.engine, WATERMARK, now.isoformat())
        return inserted

    def _catch_up(self, now: datetime) -> int:
        mark = store.get_meta(self.engine, WATERMARK)
        lower = datetime.fromisoformat(mark) if mark else now - self.config.catch_up
        zone = self.config.zone
        done_once = store.existing_keys(self.engine, store.columns.occurrence == ONCE)
        due_now: list[Occurrence] = []
        for post in self.calendar.posts.values():
            if post.draft:
                continue
            if post.at is not None:
                if post.at <= now:
                    due_now += [
                        occurrence
                        for occurrence in self._occurrences(post, ONCE, post.at, now)
                        if occurrence.key not in done_once
                    ]
                continue
            for occurrence, due in post.occurrences(min(lower, now), now, zone):
                due_now += self._occurrences(post, occurrence, due, now)
        inserted = self._insert(due_now, now)
        store.set_meta(self.engine, WATERMARK, now.isoformat())
        return inserted

    def _insert(self, occurrences: list[Occurrence], now: datetime) -> int:
        """Insert what is new; a missed delivery is logged once, when its row is made (not
        again at every reload that computes it again)."""
        created = store.add_occurrences(self.engine, occurrences, now)
        for occurrence in occurrences:
            if occurrence.missed and occurrence.key in created:
                ident = created[occurrence.key]
                log.warning(
                    "delivery missed",
                    delivery=ident,
                    post=occurrence.post_id,
                    account=occurrence.account,
                    due=occurrence.due.isoformat(),
                    reason=occurrence.missed,
                    fix=f"if it is still worth sending: crosspost retry {ident}",
                )
        return len(created)

    def _occurrences(
        self, post: Post, occurrence: str, due: datetime, now: datetime
    ) -> list[Occurrence]:
        late, catch_up = now - due, self.config.catch_up
        if late >= timedelta(minutes=1):
            late -= timedelta(seconds=late.seconds % 60)  # minutes are precise enough
        missed = (
            f"late by {format_duration(late)} when first seen; "
            f"catch_up is {format_duration(catch_up)}"
            if now - due > catch_up
            else None
        )
        return [
            Occurrence(Source.CALENDAR, post.id, occurrence, account, due, missed=missed)
            for account in post.accounts
        ]

"""Collecting what each network says about the posts crosspost published.

Each sent delivery is measured on a schedule relative to when it went out (`[daemon]
measure_after`: after 1 hour, 1 day and 7 days, then weekly for a month). A job on the
scheduler's own executor runs every minute: it enrolls the deliveries sent since, then asks
each account's adapter for the due ones, in batches as large as its API takes, and keeps
each answer as a snapshot with its time, so a report can show growth.

Collecting never delays publishing (its own thread, its own lane on the scheduler) and never
loops on a refusal: a rate limit waits for its reset, a network that refuses (a permission
not granted, a quota) is recorded with its reason, logged once, and asked again a day later.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from crosspost import logs, store
from crosspost.adapter import Measures, PublishError, RateLimited
from crosspost.engagement import total
from crosspost.model import Status
from crosspost.service.assembly import Setup
from crosspost.store.tables import MEASURES, SNAPSHOTS
from crosspost.timeutil import Clock

log = logs.get("crosspost.results")
ENROLL_WINDOW = timedelta(days=60)  # deliveries sent longer ago are not measured any more
REFUSED_WAIT = timedelta(days=1)  # a network that refused is asked again after this
DUE_PER_RUN = 2000  # at most this many deliveries measured per run
Due = tuple[int, list[str], int, datetime]  # delivery id, its remote ids, step, sent at


class Collector:
    def __init__(self, engine: Engine, clock: Clock, setup: Callable[[], Setup]) -> None:
        self.engine, self.clock, self.setup = engine, clock, setup
        self.held: dict[str, datetime] = {}  # account -> not before (a rate limit's reset)

    def cycle(self) -> int:
        """One run of the job: enroll, then measure what is due; returns how many were."""
        setup, now = self.setup(), self.clock()
        schedule = tuple(setup.config.daemon.measure_after)
        if not schedule:
            return 0
        self.enroll(now, schedule[0])
        due = self._due(now)
        measured = 0
        for account, rows in due.items():
            adapter = setup.adapters.get(account)
            if not isinstance(adapter, Measures):
                self._finish(rows)  # nothing to ask: never due again
                continue
            if self.held.get(account, now) > now:
                continue
            for batch in batches(rows, adapter.measure_batch):
                if not self._measure(account, adapter, batch, schedule, now):
                    break
                measured += len(batch)
        return measured

    def enroll(self, now: datetime, first: timedelta) -> int:
        """Deliveries sent since the last run, each due for its first measure."""
        c, m = store.columns, MEASURES.c
        sent = (
            select(c.id, c.account, c.updated_at)
            .select_from(store.DELIVERIES.outerjoin(MEASURES, m.delivery_id == c.id))
            .where(c.status == Status.SENT, c.remote_id.is_not(None), m.delivery_id.is_(None))
            .where(c.updated_at > now - ENROLL_WINDOW)
        )
        with self.engine.begin() as conn:
            rows = [
                {"delivery_id": i, "account": a, "sent_at": at, "next_at": at + first, "taken": 0}
                for i, a, at in conn.execute(sent)
            ]
            if rows:
                conn.execute(insert(MEASURES), rows)
        return len(rows)

    def _due(self, now: datetime) -> dict[str, list[Due]]:
        c, m = store.columns, MEASURES.c
        query = (
            select(m.delivery_id, m.account, c.remote_id, c.remote_ids, m.taken, m.sent_at)
            .join(store.DELIVERIES, c.id == m.delivery_id)
            .where(m.next_at.is_not(None), m.next_at <= now)
            .order_by(m.next_at)
            .limit(DUE_PER_RUN)
        )
        due: dict[str, list[Due]] = defaultdict(list)
        with self.engine.connect() as conn:
            for delivery, account, first, parts, taken, sent_at in conn.execute(query):
                ids = json.loads(parts) if parts else [first]
                due[account].append((delivery, [str(i) for i in ids], taken, sent_at))
        return due

    def _measure(
        self,
        account: str,
        adapter: Measures,
        batch: list[Due],
        schedule: tuple[timedelta, ...],
        now: datetime,
    ) -> bool:
        """One call for a batch; False when the account must wait (the rest too)."""
        wanted = [remote for _, ids, _, _ in batch for remote in ids]
        try:
            found = adapter.measure(wanted)
        except RateLimited as exc:
            self.held[account] = exc.until(now) or now + timedelta(minutes=15)
            log.info("measures wait for a rate limit", account=account,
                     until=self.held[account].isoformat())  # fmt: skip
            return False
        except PublishError as exc:
            self._refused(account, batch, str(exc), now)
            return False
        snapshots, advanced = [], []
        for delivery, ids, taken, sent_at in batch:
            parts = [found[i] for i in ids if i in found]
            if parts:
                values = total(parts).values()
                snapshots.append({"delivery_id": delivery, "taken_at": now, **values})
            following = taken + 1
            later = sent_at + schedule[following] if following < len(schedule) else None
            advanced.append((delivery, following, later if parts else None))
        with self.engine.begin() as conn:
            if snapshots:
                conn.execute(insert(SNAPSHOTS), snapshots)
            for delivery, taken, later in advanced:  # not found: deleted, never asked again
                conn.execute(update(MEASURES).where(MEASURES.c.delivery_id == delivery)
                             .values(taken=taken, next_at=later, refused=None))  # fmt: skip
        self._recovered(account)
        return True

    def _refused(
        self,
        account: str,
        batch: list[Due],
        why: str,
        now: datetime,
    ) -> None:
        key = f"measures:refused:{account}"
        if store.get_meta(self.engine, key) != why:  # once per reason, not at every run
            store.set_meta(self.engine, key, why)
            log.warning("the network refuses to give its numbers", account=account, reason=why,
                        fix="see the adapter's README for the permission it needs")  # fmt: skip
        ids = [delivery for delivery, *_ in batch]
        with self.engine.begin() as conn:
            conn.execute(update(MEASURES).where(MEASURES.c.delivery_id.in_(ids))
                         .values(next_at=now + REFUSED_WAIT, refused=why[:500]))  # fmt: skip

    def _recovered(self, account: str) -> None:
        key = f"measures:refused:{account}"
        if store.get_meta(self.engine, key):
            store.set_meta(self.engine, key, "")
            log.info("the network gives its numbers again", account=account)

    def _finish(self, rows: list[Due]) -> None:
        with self.engine.begin() as conn:
            ids = [delivery for delivery, *_ in rows]
            conn.execute(
                update(MEASURES).where(MEASURES.c.delivery_id.in_(ids)).values(next_at=None)
            )


def batches(rows: list[Due], size: int) -> list[list[Due]]:
    """The rows in batches of at most `size` remote ids (a thread brings several)."""
    found: list[list[Due]] = [[]]
    count = 0
    for row in rows:
        if found[-1] and count + len(row[1]) > max(size, 1):
            found.append([])
            count = 0
        found[-1].append(row)
        count += len(row[1])
    return found if found[-1] else []

"""The posting queue: a calendar post with `queue = true` takes, on each of its accounts,
the next free posting slot (the account's `slots` and `max_per_day`, which feeds in slots
mode use too), in calendar order.

A queued post gets its slots when the calendar loads (at start and at every reload): one
delivery row per account, due at that slot, which is the reservation; feed items and later
queued posts then take the slots after it. A post with no free slot in the next two weeks
waits for a later load. `upcoming` shows the slot each one has, or will take.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from crosspost import store
from crosspost.config.settings import Config
from crosspost.config.slots import next_free_slot
from crosspost.model import Occurrence, Source, Status
from crosspost.sources.calendar import ONCE, Calendar

QUEUE = "queue"  # the occurrence key of a queued post's delivery


def queued(
    engine: Engine | None, config: Config, calendar: Calendar, now: datetime
) -> list[Occurrence]:
    """The deliveries queued posts need and do not have yet, each at its slot (none are
    written here: the planner inserts them, `upcoming` only shows them)."""
    posts = [p for p in calendar.posts.values() if p.queue and not p.draft]
    if not posts:
        return []
    c = store.columns  # a cancelled one (the post was given a time, then queued again) is free
    made = (store.existing_keys(engine, c.occurrence.in_((QUEUE, ONCE)),
                                c.status != Status.CANCELLED)
            if engine is not None else set())  # fmt: skip
    taken: dict[str, set[datetime]] = {}
    found = []
    for post in posts:
        for account in post.accounts:
            key = f"{post.id}|{QUEUE}|{account}"
            settings = config.accounts.get(account)
            sent_at_its_time = f"{post.id}|{ONCE}|{account}" in made  # it had an `at` before
            if key in made or sent_at_its_time or settings is None or not settings.slots:
                continue
            if account not in taken:
                since = now - timedelta(days=1)
                taken[account] = store.due_times(engine, account, since) if engine else set()
            slot = next_free_slot(
                settings.slots,
                now,
                config.zone,
                taken[account],
                _per_day(taken[account], config),
                settings.max_per_day,
            )
            if slot is None:
                continue
            taken[account].add(slot)
            found.append(Occurrence(Source.CALENDAR, post.id, QUEUE, account, slot))
    return found


def reserve(engine: Engine, occurrences: list[Occurrence], now: datetime) -> int:
    """Write the queued posts' deliveries: new rows, or a cancelled row queued again."""
    made = store.add_occurrences(engine, occurrences, now)
    for occurrence in occurrences:
        if occurrence.key not in made:
            store.set_status(engine, store.columns.key == occurrence.key, now,
                             status=Status.QUEUED, due_at=occurrence.due,
                             next_attempt_at=occurrence.due, reason=None)  # fmt: skip
    return len(occurrences)


def _per_day(taken: set[datetime], config: Config) -> dict[str, int]:
    counts: dict[str, int] = {}
    for instant in taken:
        day = instant.astimezone(config.zone).date().isoformat()
        counts[day] = counts.get(day, 0) + 1
    return counts

"""The daily digest: one message at `[alerts] digest` (the daemon's time zone) for the
person who reports to the boss: what went out today with its links, what failed or waits
for a person, what is planned tomorrow on each account, and the tokens that run out soon.

It is an event like the others (kind "digest", one key per day), so a restart, a reload or
a second daemon sharing the database never sends a day's digest twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import Engine

from crosspost import store
from crosspost.alerts.events import Event, post_name
from crosspost.config.problems import Problem
from crosspost.model import RESOLVED_BY_HAND, Source, Status
from crosspost.service.assembly import Setup


def digest(setup: Setup, engine: Engine, now: datetime, tokens: list[Problem]) -> Event:
    zone, c = setup.config.zone, store.columns
    local = now.astimezone(zone)
    today = datetime.combine(local.date(), time(), zone)
    tomorrow, after = today + timedelta(days=1), today + timedelta(days=2)

    def hhmm(value: datetime) -> str:
        return f"{value.astimezone(zone):%H:%M}"

    sent = store.deliveries(engine, c.status == Status.SENT, c.updated_at >= today)
    waiting = store.deliveries(
        engine,
        (c.status.in_((Status.FAILED, Status.MISSED)) & (c.updated_at >= today))
        | (c.status == Status.IN_DOUBT),
    )
    paused = store.paused_accounts(engine)
    sections = [f"## Published today ({len(sent)})"]
    sections += [
        f"- {hhmm(d.updated_at)} **{d.account}**: {post_name(d)} — "
        f"{d.remote_url or '(no link given by the network)'}{_warned(d)}"
        for d in sent
    ]
    needs = [
        f"- {d.status} **{d.account}**: {post_name(d)} (delivery {d.id}): {d.reason or ''}"
        for d in waiting
    ]
    needs += [
        f"- account **{name}** paused: {why}; `crosspost auth {name}`"
        for name, why in paused.items()
    ]
    sections += ["", f"## Needs a person ({len(needs)})", *(needs or ["- nothing"])]
    sections += ["", f"## Planned tomorrow, {tomorrow:%A %d %B}"]
    sections += _tomorrow(setup, engine, tomorrow, after, hhmm) or ["- nothing planned"]
    if tokens:
        sections += ["", "## Tokens to renew"]
        sections += [f"- {problem.message}" for problem in tokens]
    title = f"crosspost, {local:%Y-%m-%d}: {len(sent)} published, {len(needs)} need a person"
    return Event("digest", digest_key(local.date()), title, "\n".join(sections))


def digest_key(day: date) -> str:
    """One digest per local day: sent once, whoever (or whenever) writes it."""
    return f"digest:{day:%Y-%m-%d}"


def _warned(delivery: store.Delivery) -> str:
    """A sent post's warning (its first comment may be missing...), for a person to look."""
    if not delivery.reason or delivery.reason.startswith(RESOLVED_BY_HAND):
        return ""
    return f" — look: {delivery.reason}"


def _tomorrow(
    setup: Setup, engine: Engine, start: datetime, end: datetime, hhmm: Callable[[datetime], str]
) -> list[str]:
    """Per account, the calendar's posts due tomorrow and the feed items waiting for a
    slot then."""
    planned: dict[str, list[tuple[datetime, str]]] = {}
    for due, _key, post in setup.calendar.upcoming(start, end, setup.config.zone):
        for account in post.accounts:
            planned.setdefault(account, []).append((due, post.id))
    c = store.columns
    for row in store.deliveries(
        engine,
        c.status == Status.QUEUED,
        c.source == Source.FEED,
        c.due_at >= start,
        c.due_at < end,
    ):
        planned.setdefault(row.account, []).append((row.due_at, post_name(row)))
    lines = []
    for account in sorted(planned):
        items = ", ".join(f"{hhmm(due)} {name}" for due, name in sorted(planned[account]))
        lines.append(f"- **{account}**: {items}")
    return lines

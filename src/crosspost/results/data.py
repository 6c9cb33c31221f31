"""The facts a report is made of: each post sent in a period, with what its network said.

A post counts in the period it went out in. Its numbers are its latest snapshot; every
snapshot is kept too, for the growth charts. Nothing here is computed from a missing number:
a post whose network gave no likes has likes None, and a group's sum is None only when no
post in it had that number.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select

from crosspost import store
from crosspost.config.settings import Config
from crosspost.engagement import FIELDS, Engagement
from crosspost.model import Status
from crosspost.store.tables import MEASURES, SNAPSHOTS
from crosspost.timeutil import parse_duration


class PeriodError(ValueError):
    """A period that cannot be read; the message says what is accepted."""


@dataclass(frozen=True)
class Period:
    start: datetime  # aware UTC, included
    end: datetime  # aware UTC, excluded

    def previous(self) -> Period:
        """The period of the same length just before, for the change."""
        return Period(self.start - (self.end - self.start), self.start)

    def describe(self, zone: ZoneInfo) -> str:
        last = self.end - timedelta(microseconds=1)
        return f"{self.start.astimezone(zone):%Y-%m-%d} to {last.astimezone(zone):%Y-%m-%d}"


def period(
    now: datetime, zone: ZoneInfo, since: str = "", start: str = "", end: str = ""
) -> Period:
    """`--since 30d`, or `--from DATE [--to DATE]` (whole days in the daemon's zone, both
    included); the default is the last 30 days."""
    if since and (start or end):
        raise PeriodError("give --since, or --from and --to, not both")
    if start or end:
        first = _day(start, "--from") if start else None
        last = _day(end, "--to") if end else now.astimezone(zone).date()
        first = first or last - timedelta(days=29)
        if last < first:
            raise PeriodError(f"--to {last} is before --from {first}")
        begin = datetime.combine(first, time(), zone).astimezone(UTC)
        return Period(
            begin, datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
        )
    try:
        length = parse_duration(since or "30d")
    except ValueError:
        raise PeriodError(f"--since {since!r}: give a duration such as 7d, 30d or 12w") from None
    if length <= timedelta(0):
        raise PeriodError("--since must be a positive duration, such as 30d")
    return Period(now - length, now)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{option} {text!r}: give a date as YYYY-MM-DD") from None


@dataclass
class PostResult:
    """One delivery: where and when it went out, and what its network said about it."""

    delivery: int
    post_id: str
    account: str
    network: str
    voice: str
    author: str
    text: str
    url: str
    sent_at: datetime
    engagement: Engagement = field(default_factory=Engagement)
    collected_at: datetime | None = None  # when the numbers shown were collected
    history: list[tuple[datetime, Engagement]] = field(default_factory=list)


def load(engine: Engine, config: Config, chosen: Period, history: bool = False) -> list[PostResult]:
    """Every delivery sent in `chosen` with its latest numbers; with `history`, every
    snapshot too, oldest first (the growth chart needs them, a table does not)."""
    c, m = store.columns, MEASURES.c
    sent_at = m.sent_at  # when the collector saw it sent; else its last change
    query = (
        select(c.id, c.post_id, c.account, c.author, c.text, c.remote_url, c.updated_at, sent_at)
        .select_from(store.DELIVERIES.outerjoin(MEASURES, m.delivery_id == c.id))
        .where(c.status == Status.SENT)
        .where(c.updated_at >= chosen.start - timedelta(days=1))
        .order_by(c.id)
    )
    results: dict[int, PostResult] = {}
    with engine.connect() as conn:
        for key, post_id, name, author, text, url, updated_at, sent_at in conn.execute(query):
            when = sent_at or updated_at
            if not chosen.start <= when < chosen.end:
                continue
            account = config.accounts.get(name)
            results[key] = PostResult(
                delivery=key,
                post_id=post_id,
                account=name,
                network=account.network if account else "?",
                voice=account.voice if account else "?",
                author=author or "",
                text=text or "",
                url=url or "",
                sent_at=when,
            )
        _add_snapshots(conn, results, history)
    return list(results.values())


def _add_snapshots(conn: Connection, results: dict[int, PostResult], history: bool) -> None:
    """One query over the id range of the period's deliveries (ids grow with time, so the
    range holds few others, which are skipped): cheaper than long IN lists on both SQLite
    and PostgreSQL. Without `history`, only each delivery's latest snapshot is read."""
    if not results:
        return
    s = SNAPSHOTS.c
    within = s.delivery_id.between(min(results), max(results))
    wanted = select(s.delivery_id, s.taken_at, *(s[name] for name in FIELDS))
    query = wanted.where(within).order_by(s.taken_at)
    if not history:
        newest = select(s.delivery_id, func.max(s.taken_at).label("taken_at"))
        latest = newest.where(within).group_by(s.delivery_id).subquery()
        query = wanted.join(
            latest, (latest.c.delivery_id == s.delivery_id) & (latest.c.taken_at == s.taken_at)
        )
    found: dict[int, list[tuple[datetime, Engagement]]] = defaultdict(list)
    for delivery, taken_at, *numbers in conn.execute(query):
        if delivery in results:
            found[delivery].append((taken_at, Engagement(*numbers)))
    for delivery, snapshots in found.items():
        result = results[delivery]
        result.history = snapshots if history else []
        result.collected_at, result.engagement = snapshots[-1]

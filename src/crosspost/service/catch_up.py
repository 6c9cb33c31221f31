"""What the daemon owes from while it was down: today's digest once its time has passed,
and the week's results report once its day has.

The digest and the report are cron jobs of the in-memory scheduler, which fire only while
the daemon runs: one restarted at 10:00 on a Monday would skip that day's 08:00 report for a
whole week. At start, each one not yet written is sent late, within a bound (the digest the
same day, about that day; the report up to REPORT_LATE after its time, about its week). The
events' keys would make a second one a no-op anyway; looking first spares rebuilding it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from crosspost.alerts.digest import digest_key
from crosspost.config.alerts import DAYS
from crosspost.results.weekly import last_week, report_key
from crosspost.service.assembly import Setup
from crosspost.store.tables import ALERTS

REPORT_LATE = timedelta(days=3)  # a report later than this waits for next week's


def owed_digest(setup: Setup, engine: Engine, now: datetime) -> bool:
    """Today's digest, when its time has passed and it was not written."""
    at, zone = setup.config.alerts.digest_time, setup.config.zone
    if at is None:
        return False
    local = now.astimezone(zone)
    if local < datetime.combine(local.date(), at, zone):
        return False
    return not _written(engine, digest_key(local.date()))


def owed_report(setup: Setup, engine: Engine, now: datetime) -> datetime | None:
    """When the last report was due, when that was less than REPORT_LATE ago and it was
    not written; else None."""
    when, zone = setup.config.alerts.report_at, setup.config.zone
    if when is None:
        return None
    day, at = when
    local = now.astimezone(zone)
    back = (local.weekday() - DAYS.index(day)) % 7
    due = datetime.combine(local.date() - timedelta(days=back), at, zone)
    if due > local:
        due -= timedelta(days=7)
    if local - due > REPORT_LATE:
        return None
    return None if _written(engine, report_key(last_week(due, setup), zone)) else due


def _written(engine: Engine, key: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(select(ALERTS.c.id).where(ALERTS.c.key == key).limit(1)).first()
            is not None
        )

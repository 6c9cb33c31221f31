"""Posting slots: "mon-fri 09:00", "sat 10:30", "daily 12:00" or just "17:30".

An account with slots receives feed items (mode = "slots") at its next free slot, at most
`max_per_day` a day, instead of as soon as they are seen.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from crosspost.config.problems import echo
from crosspost.timeutil import resolve_wall_time

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_SLOT = re.compile(r"^\s*(?:(?P<days>[a-z,\-]+)\s+)?(?P<hh>\d{1,2}):(?P<mm>\d{2})\s*$")


def parse_slot(text: str) -> tuple[frozenset[int], time]:
    """(weekdays 0=Monday, time of day); ValueError with an example when it is not a slot."""
    match = _SLOT.match(text.lower())
    hint = 'write slots like "mon-fri 09:00", "sat 10:30", "daily 12:00" or "17:30"'
    if not match or int(match["hh"]) > 23 or int(match["mm"]) > 59:
        raise ValueError(f"{echo(text)} is not a slot; {hint}")
    days: set[int] = set()
    for part in (match["days"] or "daily").split(","):
        if part == "daily":
            days.update(range(7))
        elif "-" in part:
            first, _, last = part.partition("-")
            if first not in DAYS or last not in DAYS:
                raise ValueError(f"{echo(text)}: unknown day in {echo(part)}; {hint}")
            start, end = DAYS.index(first), DAYS.index(last)
            days.update(d % 7 for d in range(start, end + 1 if end >= start else end + 8))
        elif part in DAYS:
            days.add(DAYS.index(part))
        else:
            raise ValueError(f"{echo(text)}: unknown day {echo(part)}; {hint}")
    return frozenset(days), time(int(match["hh"]), int(match["mm"]))


def slot_times(slots: list[str], after: datetime, zone: ZoneInfo, days: int = 14) -> list[datetime]:
    """Every slot instant (UTC) after `after`, for the next `days` days, in order."""
    parsed = [parse_slot(slot) for slot in slots]
    local_day = after.astimezone(zone).date()
    found = []
    for offset in range(days + 1):
        day = local_day + timedelta(days=offset)
        for weekdays, at in parsed:
            if day.weekday() in weekdays:
                instant = resolve_wall_time(datetime.combine(day, at), zone)
                if instant > after:
                    found.append(instant)
    return sorted(set(found))


def next_free_slot(
    slots: list[str],
    after: datetime,
    zone: ZoneInfo,
    taken: set[datetime],
    per_day: dict[str, int],
    max_per_day: int,
) -> datetime | None:
    """The first slot after `after` that is not taken and whose day is not full."""
    for instant in slot_times(slots, after, zone):
        day = instant.astimezone(zone).date().isoformat()
        if instant in taken or (max_per_day and per_day.get(day, 0) >= max_per_day):
            continue
        return instant
    return None

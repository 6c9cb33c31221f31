"""Time: durations as people write them, wall-clock times across DST, and a clock tests can drive.

Calendar times without an offset are wall-clock times in the daemon's timezone. Two DST cases
need a rule, and both are documented in the README:

* a time that does not exist (spring forward, e.g. 02:30 when clocks jump 02:00 -> 03:00)
  moves to the first valid instant after the gap (03:00);
* an ambiguous time (fall back, 02:30 happens twice) takes its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, PlainSerializer

from crosspost.config.problems import echo

_DURATION = re.compile(r"(\d+)\s*(d|h|m|s)", re.IGNORECASE)
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """Parse "90s", "15m", "2h", "1d12h"; raise ValueError with a hint otherwise."""
    cleaned = text.strip().replace(" ", "")
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts).lower() != cleaned.lower():
        raise ValueError(
            f"{echo(text)} is not a duration; write it like '90s', '15m', '2h' or '1d'"
        )
    return timedelta(seconds=sum(int(n) * _UNITS[u.lower()] for n, u in parts))


def format_duration(delta: timedelta) -> str:
    """A duration as people write it: 7200 s is "2h", 90 s is "1m30s"."""
    seconds, out = int(delta.total_seconds()), ""
    for unit, size in _UNITS.items():
        if seconds >= size or (unit == "s" and not out):
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out


def _duration_from(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{echo(value)} is not a duration; write it like '90s', '15m' or '2h'")
    return parse_duration(value)


Duration = Annotated[
    timedelta,
    BeforeValidator(_duration_from),
    PlainSerializer(format_duration, return_type=str),
]
"""A config field written "15m" and read as a `timedelta`: parsed once, when the config
loads, never again at each use."""


def resolve_wall_time(naive: datetime, zone: ZoneInfo) -> datetime:
    """Turn a wall-clock time in `zone` into an aware UTC instant, applying the DST rules above."""
    first = naive.replace(tzinfo=zone, fold=0)
    as_utc = first.astimezone(UTC)
    if as_utc.astimezone(zone).replace(tzinfo=None) == naive:
        return as_utc  # exists; fold=0 is the first of two occurrences when ambiguous
    # In a gap: fold=1 applies the offset from before the gap, fold=0 the one after it; the
    # transition instant lies between the two candidates. Bisect to the first valid second.
    low = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = as_utc
    low, high = min(low, high), max(low, high)
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).utcoffset() == after:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0)


def to_utc(value: datetime, zone: ZoneInfo) -> datetime:
    """An aware datetime is converted; a naive one is a wall-clock time in `zone`."""
    if value.tzinfo is None:
        return resolve_wall_time(value, zone)
    return value.astimezone(UTC)


Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real clock, always aware UTC."""
    return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: tests drive schedules without sleeping."""

    def __init__(self, start: datetime) -> None:
        self.current = start.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> datetime:
        self.current += delta
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when.astimezone(UTC)

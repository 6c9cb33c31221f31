"""Checking a 5-field cron expression the way a person reads one: field by field.

croniter accepts or refuses an expression as a whole ("invalid cron"); a person fixing a
calendar needs to know which field is wrong ("hour 25 is out of range 0-23"), and that
``0 9 30 2 *`` (February 30th) is valid syntax that never fires: that would otherwise only
show when the daemon looks for the next occurrence.
"""

from __future__ import annotations

from datetime import datetime

from croniter import CroniterBadDateError, croniter

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTHS),
    ("weekday", 0, 7, WEEKDAYS),
)


def cron_problem(expression: str, start: datetime) -> str | None:
    """What is wrong with `expression`, or None when it is valid and fires after `start`."""
    fields = expression.split()
    if len(fields) != 5:
        return (
            f"cron {expression!r} has {len(fields)} fields; write exactly 5: "
            'minute hour day month weekday (e.g. "0 9 * * mon")'
        )
    for value, (name, low, high, names) in zip(fields, FIELDS, strict=True):
        problem = _field_problem(value, name, low, high, names)
        if problem:
            return f"cron {expression!r}: {problem}"
    if not croniter.is_valid(expression):
        return f"invalid cron {expression!r}; use 5 fields: minute hour day month weekday"
    try:
        croniter(expression, start).get_next(datetime)
    except (CroniterBadDateError, ValueError, OverflowError):
        return f"cron {expression!r} never fires (no such date, e.g. February 30th)"
    return None


def _field_problem(value: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str:
    for token in value.split(","):
        span, _, step = token.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"{name} step {step!r} must be a whole number from 1"
        if span in ("*", "?"):
            continue
        for part in span.split("-", 1):
            if part.isdigit() and not low <= int(part) <= high:
                return f"{name} {part} is out of range {low}-{high}"
            if part.isalpha() and names and part.lower() not in names:
                return f"{name} {part!r} is not one of {', '.join(names)}"
            if part.isalpha() and not names and part.upper() != "L":
                return f"{name} {part!r} is not a number ({low}-{high})"
    return ""

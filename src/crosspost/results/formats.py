"""The report as a terminal table, CSV or JSON: the same groups, the same numbers.

The table fits a terminal (the text column gives way); CSV and JSON are complete and
stable, for a spreadsheet or another tool: their columns and keys only ever grow. A number
a network did not give is shown as "—" in the table, an empty cell in CSV and null in JSON,
never as 0; each group says when its numbers were collected.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from crosspost.engagement import FIELDS, Engagement
from crosspost.results.data import Period, PostResult

GROUPINGS = ("post", "account", "network", "author", "voice", "weekday", "hour")
FORMATS = ("table", "csv", "json", "html")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class Group:
    key: str
    posts: int = 0
    engagement: Engagement = field(default_factory=Engagement)
    collected_at: datetime | None = None
    url: str = ""  # a post's own, when grouped by post
    measured: int = 0  # posts with numbers from their network

    def add(self, result: PostResult) -> None:
        self.posts += 1
        self.engagement = self.engagement + result.engagement
        if result.collected_at is not None:
            self.measured += 1
            self.collected_at = max(self.collected_at or result.collected_at, result.collected_at)


def key_of(by: str, zone: ZoneInfo) -> Callable[[PostResult], str]:
    """How a post is filed under `by` (weekday and hour in the daemon's time zone)."""
    if by == "post":
        return lambda r: f"{r.post_id} → {r.account}"
    if by == "weekday":
        return lambda r: weekday(r.sent_at.astimezone(zone).weekday())
    if by == "hour":
        return lambda r: f"{r.sent_at.astimezone(zone):%H}:00"
    return lambda r: str(getattr(r, by)) or "(none)"


def weekday(number: int) -> str:
    """ "1 Monday": sorts in the week's order."""
    return f"{number + 1} {WEEKDAYS[number]}"


def group(results: list[PostResult], by: str, zone: ZoneInfo) -> list[Group]:
    """The groups, sorted by what `by` means: time for weekday and hour, else by
    interactions, most first (missing last)."""
    key = key_of(by, zone)
    groups: dict[str, Group] = {}
    for result in results:
        found = groups.setdefault(key(result), Group(key(result)))
        found.add(result)
        if by == "post":
            found.url = result.url
    ordered = list(groups.values())
    if by in ("weekday", "hour"):
        return sorted(ordered, key=lambda g: g.key)
    return sorted(ordered, key=lambda g: (-(g.engagement.interactions or -1), g.key))


def shown(value: int | None) -> str:
    return "—" if value is None else f"{value:,}".replace(",", " ")


def table(groups: list[Group], by: str, zone: ZoneInfo) -> list[list[str]]:
    """Rows for `cli.terminal.table` (headers first)."""
    rows = [[by, "posts", *FIELDS, "interactions", "collected"]]
    for g in groups:
        values = g.engagement.values()
        when = f"{g.collected_at.astimezone(zone):%Y-%m-%d %H:%M}" if g.collected_at else "not yet"
        rows.append([g.key, str(g.posts), *(shown(values[f]) for f in FIELDS),
                     shown(g.engagement.interactions), when])  # fmt: skip
    return rows


def as_csv(groups: list[Group], by: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by, "posts", "posts_measured", *FIELDS, "interactions", "collected_at", "url"])
    for g in groups:
        values = g.engagement.values()
        numbers = [*(values[f] for f in FIELDS), g.engagement.interactions]
        when = g.collected_at.isoformat() if g.collected_at else ""
        writer.writerow([g.key, g.posts, g.measured, *("" if n is None else n for n in numbers),
                         when, g.url])  # fmt: skip
    return out.getvalue()


def as_json(groups: list[Group], by: str, chosen: Period, now: datetime) -> str:
    document = {
        "generated_at": now.isoformat(),
        "period": {"start": chosen.start.isoformat(), "end": chosen.end.isoformat()},
        "by": by,
        "groups": [
            {
                "key": g.key,
                "posts": g.posts,
                "posts_measured": g.measured,
                **g.engagement.values(),
                "interactions": g.engagement.interactions,
                "collected_at": g.collected_at.isoformat() if g.collected_at else None,
                **({"url": g.url} if by == "post" else {}),
            }
            for g in groups
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

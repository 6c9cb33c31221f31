"""The publication calendar: `[[post]]` entries from one or more hand-edited TOML files.

A bad entry is reported and skipped, never allowed to stop the good ones. When an edit breaks
an entry (or a whole file) that was good before, the last good version keeps running until
the file is fixed, so a typo made at 08:59 does not cancel the 09:00 post.
"""

from __future__ import annotations

import glob
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crosspost.config import Config
from crosspost.problems import ConfigError, LineFinder, Problem, read_toml
from crosspost.timeutil import to_utc

ONCE = "once"  # occurrence key of an `at` post: moving its time never makes a second post


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageEntry(_Strict):
    path: str
    alt: str = ""


class OverrideEntry(_Strict):
    text: str


class PostEntry(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=120)
    at: datetime | None = None
    cron: str | None = None
    until: datetime | date | None = None
    accounts: list[str] = Field(min_length=1)
    text: str = ""
    title: str = ""
    link: str = ""
    images: list[ImageEntry] = Field(default_factory=list)
    author: str = ""
    draft: bool = False
    override: dict[str, OverrideEntry] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Image:
    path: Path
    alt: str


@dataclass(frozen=True, slots=True)
class Post:
    """One calendar entry, validated; times are aware UTC, cron runs on wall-clock time."""

    id: str
    file: str
    line: int
    accounts: tuple[str, ...]
    text: str
    title: str = ""
    link: str = ""
    images: tuple[Image, ...] = ()
    author: str = ""
    draft: bool = False
    at: datetime | None = None
    cron: str | None = None
    until: datetime | None = None
    overrides: dict[str, str] = field(default_factory=dict)

    def occurrences(
        self, after: datetime, until: datetime, zone: ZoneInfo, limit: int = 1000
    ) -> Iterator[tuple[str, datetime]]:
        """(occurrence key, due instant) for every occurrence in the window (after, until]."""
        if self.at is not None:
            if after < self.at <= until:
                yield ONCE, self.at
            return
        for key, due in self._cron_times(after, zone, limit):
            if due > until:
                return
            yield key, due

    def next_after(self, instant: datetime, zone: ZoneInfo) -> tuple[str, datetime] | None:
        if self.at is not None:
            return (ONCE, self.at) if self.at > instant else None
        return next(self._cron_times(instant, zone, 1), None)

    def _cron_times(
        self, after: datetime, zone: ZoneInfo, limit: int
    ) -> Iterator[tuple[str, datetime]]:
        assert self.cron is not None
        # Walk wall-clock times from one hour before `after` (so the repeated DST hour is
        # seen), resolve each with the DST rules, keep only those strictly after `after`.
        wall = (after.astimezone(zone) - timedelta(hours=1)).replace(tzinfo=None)
        times = croniter(self.cron, wall)
        produced = 0
        while produced < limit:
            wall_next: datetime = times.get_next(datetime)
            due = to_utc(wall_next, zone)
            if self.until is not None and due > self.until:
                return
            if due > after:
                produced += 1
                yield wall_next.isoformat(timespec="minutes"), due


@dataclass
class Calendar:
    posts: dict[str, Post] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Last good state per file, used when an edit breaks a file or an entry.
    good_entries: dict[str, dict[str, Post]] = field(default_factory=dict)

    def upcoming(
        self, start: datetime, end: datetime, zone: ZoneInfo
    ) -> list[tuple[datetime, str, Post]]:
        rows = [
            (due, key, post)
            for post in self.posts.values()
            if not post.draft
            for key, due in post.occurrences(start, end, zone)
        ]
        return sorted(rows, key=lambda row: (row[0], row[2].id))


def calendar_files(config: Config) -> list[Path]:
    """Every file the `calendars` globs name, sorted, each once."""
    found: dict[Path, None] = {}
    for pattern in config.daemon.calendars:
        full = str(config.resolve(pattern))
        matches = sorted(glob.glob(full)) if glob.has_magic(full) else [full]
        for match in matches:
            found[Path(match)] = None
    return list(found)


def load_calendar(config: Config, previous: Calendar | None = None) -> Calendar:
    calendar = Calendar(files=calendar_files(config))
    for path in calendar.files:
        if not path.exists() and not glob.has_magic(path.name):
            calendar.problems.append(
                Problem(
                    str(path),
                    0,
                    "",
                    "calendar file not found; create it or remove it from [daemon] calendars",
                )
            )
            continue
        before = previous.good_entries.get(str(path), {}) if previous else {}
        entries = _load_file(config, path, before, calendar.problems)
        calendar.good_entries[str(path)] = entries
        for post in entries.values():
            first = calendar.posts.get(post.id)
            if first is not None:
                calendar.problems.append(
                    Problem(
                        post.file,
                        post.line,
                        "post.id",
                        f"duplicate id {post.id!r} (first used at {first.file}:{first.line}); "
                        "ids must be unique across all calendar files",
                    )
                )
                continue
            calendar.posts[post.id] = post
    return calendar


def _load_file(
    config: Config, path: Path, before: dict[str, Post], problems: list[Problem]
) -> dict[str, Post]:
    try:
        data, text = read_toml(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        if before:
            problems.append(
                Problem(
                    str(path),
                    0,
                    "",
                    "keeping the last good version of this "
                    f"file ({len(before)} posts) until it is fixed",
                    "warning",
                )
            )
        return before
    lines = LineFinder(text)
    unknown = set(data) - {"post"}
    for key in sorted(unknown):
        problems.append(
            Problem(
                str(path),
                lines.key_line(key, 0, ""),
                key,
                f"unknown top-level key {key!r}; calendar files hold [[post]] tables",
            )
        )
    raw = data.get("post", [])
    if not isinstance(raw, list):
        problems.append(Problem(str(path), 1, "post", "write each post as a [[post]] table"))
        return before
    entries: dict[str, Post] = {}
    for index, item in enumerate(raw):
        found: list[Problem] = []
        post = _parse_entry(config, path, lines, index, item, found)
        if post is not None and post.id not in entries:
            entries[post.id] = post
            continue
        problems.extend(found)
        post_id = item.get("id") if isinstance(item, dict) else None
        if post is not None:
            problems.append(
                Problem(str(path), post.line, "post.id", f"duplicate id {post.id!r} in this file")
            )
        elif isinstance(post_id, str) and post_id in before and post_id not in entries:
            entries[post_id] = before[post_id]
            problems.append(
                Problem(
                    str(path),
                    before[post_id].line,
                    "post",
                    f"keeping the last good version of {post_id!r} until it is fixed",
                    "warning",
                )
            )
    return entries


def _parse_entry(
    config: Config, path: Path, lines: LineFinder, index: int, item: Any, problems: list[Problem]
) -> Post | None:
    def problem(key: str, message: str) -> None:
        problems.append(
            Problem(
                str(path), lines.key_line("post", index, key.split(".")[0]), f"post.{key}", message
            )
        )

    try:
        entry = PostEntry.model_validate(item)
    except ValidationError as exc:
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "post"
            if err["type"] == "extra_forbidden":
                problem(
                    key, f"unknown key {key!r}; known keys: {', '.join(PostEntry.model_fields)}"
                )
            elif err["type"] == "missing":
                problem(key, f"missing required key {key!r}")
            else:
                problem(key, f"{err['msg']} (got {err.get('input')!r})")
        return None
    zone = config.zone
    if (entry.at is None) == (entry.cron is None):
        problem(
            "at",
            "give exactly one of `at` (a TOML datetime, e.g. 2026-12-01T09:00:00) "
            'or `cron` (5 fields, e.g. "0 9 * * mon")',
        )
    if entry.cron is not None and len(entry.cron.split()) != 5:
        problem(
            "cron", f"cron {entry.cron!r} must have exactly 5 fields: minute hour day month weekday"
        )
    elif entry.cron is not None and not croniter.is_valid(entry.cron):
        problem("cron", f"invalid cron {entry.cron!r}; use 5 fields: minute hour day month weekday")
    for name in entry.accounts:
        if name not in config.accounts:
            problem(
                "accounts",
                f"unknown account {name!r}; define [accounts.{name}] in "
                f"{config.path.name} or use one of: {', '.join(sorted(config.accounts))}",
            )
    for name in entry.override:
        if name not in entry.accounts:
            problem(
                f"override.{name}", f"override for {name!r}, which is not in this post's accounts"
            )
    if not (entry.text or entry.title or entry.override):
        problem("text", "a post needs `text` (or a `title`)")
    if entry.link and not entry.link.startswith(("http://", "https://")):
        problem("link", f"link {entry.link!r} must start with http:// or https://")
    images = tuple(Image((path.parent / img.path).resolve(), img.alt) for img in entry.images)
    for image in images:
        if not image.path.is_file():
            problem("images", f"image not found: {image.path}; paths are relative to {path.name}")
    if problems:
        return None
    until = entry.until
    if isinstance(until, date) and not isinstance(until, datetime):
        until = datetime.combine(until, time(23, 59, 59))
    return Post(
        id=entry.id,
        file=sys.intern(str(path)),  # one string per file, not per post
        line=lines.key_line("post", index, "id"),
        accounts=tuple(sys.intern(name) for name in entry.accounts),
        text=entry.text,
        title=entry.title,
        link=entry.link,
        images=images,
        author=entry.author,
        draft=entry.draft,
        at=to_utc(entry.at, zone) if entry.at else None,
        cron=entry.cron,
        until=to_utc(until, zone) if until else None,
        overrides={name: o.text for name, o in entry.override.items()},
    )

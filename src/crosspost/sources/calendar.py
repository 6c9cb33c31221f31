"""The publication calendar: validated posts, and when each one falls due.

Loading the hand-edited files is `calendar_load`'s job; this module is what the rest of the
daemon sees: `Post` (times in UTC, cron on wall-clock time) and `Calendar`.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from zoneinfo import ZoneInfo

from croniter import CroniterBadDateError, croniter

from crosspost.config.problems import Problem
from crosspost.config.settings import Config
from crosspost.sources.media import Image
from crosspost.timeutil import to_utc

__all__ = ["ONCE", "Calendar", "Image", "Post", "calendar_files"]

ONCE = "once"  # occurrence key of an `at` post: moving its time never makes a second post
NO_OVERRIDES: Mapping[str, str] = MappingProxyType({})  # shared: most posts have none


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
    author: str = ""  # as the entry says (see `by`)
    draft: bool = False
    at: datetime | None = None
    cron: str | None = None
    until: datetime | None = None
    overrides: Mapping[str, str] = field(default_factory=lambda: NO_OVERRIDES)
    # Digest of the entry's source text: a reload re-parses only entries whose text changed.
    digest: bytes = b""
    file_author: str = ""  # the `author` at the top of its file, for entries that name none
    approved_by: str = ""  # who approved it (see `sources.approval`)
    approved: str = ""  # the digest of what they approved
    queue: bool = False  # no time of its own: each account's next free slot (see `queue`)
    first_comment: str = ""  # added under the post once it is published (see `Comments`)
    comment_overrides: Mapping[str, str] = field(default_factory=lambda: NO_OVERRIDES)

    def comment_for(self, account: str) -> str:
        """The first comment `account` gets: its override's, else the post's."""
        return self.comment_overrides.get(account, self.first_comment)

    @property
    def by(self) -> str:
        """Who wrote it: the entry's author, else its file's."""
        return self.author or self.file_author

    def occurrences(
        self, after: datetime, until: datetime, zone: ZoneInfo, limit: int = 1000
    ) -> Iterator[tuple[str, datetime]]:
        """(occurrence key, due instant) for every occurrence in the window (after, until]."""
        if self.queue:
            return  # its times are its accounts' slots, given when it is queued
        if self.at is not None:
            if after < self.at <= until:
                yield ONCE, self.at
            return
        for key, due in self._cron_times(after, zone, limit):
            if due > until:
                return
            yield key, due

    def next_after(self, instant: datetime, zone: ZoneInfo) -> tuple[str, datetime] | None:
        if self.queue:
            return None
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
            try:
                wall_next: datetime = times.get_next(datetime)
                due = to_utc(wall_next, zone)
            except (CroniterBadDateError, OverflowError, ValueError):
                return  # no further occurrence (checked at load; this is the backstop)
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
    # The time zone and accounts the posts were parsed for: a change means parsing again.
    parsed_for: tuple[str, frozenset[str]] = ("", frozenset())

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


def calendar_files(config: Config) -> tuple[list[Path], list[Problem]]:
    """Every existing file the `calendars` globs name, sorted, each once; and a problem for
    each name that gives none (an error for a file, a warning for a glob)."""
    found: dict[Path, None] = {}
    problems = []
    for index, pattern in enumerate(config.daemon.calendars):
        full = str(config.resolve(pattern))
        magic = glob.has_magic(full)
        matches = sorted(glob.glob(full)) if magic else [full]
        existing = [m for m in matches if Path(m).exists() or Path(m).is_symlink()]
        why = "" if existing else _nothing(pattern, full, magic)
        if why:
            problems.append(
                Problem(
                    str(config.path),
                    config.problem("daemon", 0, "calendars", "").line,
                    f"daemon.calendars[{index}]",
                    why,
                    "warning" if magic else "error",
                )
            )
        for match in existing:
            found[Path(match)] = None
    return list(found), problems


def _nothing(pattern: str, full: str, magic: bool) -> str:
    """Why a name gives no calendar file ("" for an empty folder: nothing planned yet)."""
    if not magic:
        return (
            f"calendar file {pattern!r} not found; create it or remove it from [daemon] calendars"
        )
    folder = Path(full).parent
    if not folder.is_dir():
        return f"{pattern!r}: there is no folder {folder}; create it or fix the name"
    others = sorted(p.name for p in folder.iterdir() if p.is_file())[:5]
    if others:
        return f"no file matches {pattern!r}; the folder has {', '.join(others)}"
    return ""

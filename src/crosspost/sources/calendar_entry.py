"""One `[[post]]` table, validated: types, required keys, accounts, cron, links, images.

Every problem names the key it is about, so `check` can point at the line to fix.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crosspost.config.problems import LineFinder, Problem, echo, explain
from crosspost.config.settings import Config
from crosspost.sources.calendar import NO_OVERRIDES, Post
from crosspost.sources.cron import cron_problem
from crosspost.sources.media import Image, MediaError, inspect_image
from crosspost.timeutil import to_utc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImageEntry(_Strict):
    path: str
    alt: str = ""


class OverrideEntry(_Strict):
    text: str | None = None  # none: the voice's text
    first_comment: str | None = None  # none: the post's; "" adds none on this account


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
    approved_by: str = ""  # written by `crosspost approve`
    approved: str = ""  # the digest of what was approved
    queue: bool = False  # instead of `at`: each account's next free slot
    first_comment: str = Field(default="", max_length=20_000)
    override: dict[str, OverrideEntry] = Field(default_factory=dict)


def parse_entry(
    config: Config,
    path: Path,
    lines: LineFinder,
    item: Any,
    line: int,
    problems: list[Problem],
    digest: bytes = b"",
) -> Post | None:
    """Validate one [[post]] (the only one in `lines`); `line` is where its id is written,
    `digest` the digest of its source text (kept on the post for the next reload)."""

    def problem(key: str, message: str) -> None:
        problems.append(
            Problem(str(path), lines.key_line("post", 0, key.split(".")[0]), f"post.{key}", message)
        )

    try:
        entry = PostEntry.model_validate(item)
    except ValidationError as exc:
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "post"
            problem(key, explain(err, list(PostEntry.model_fields), key=key, keep=60))
        return None
    zone = config.zone
    now = datetime.now(UTC)
    warnings: list[Problem] = []
    if entry.queue and (entry.at is not None or entry.cron is not None):
        problem("queue", "queue = true takes each account's next free slot: remove "
                f"`{'at' if entry.at is not None else 'cron'}`, or remove queue")  # fmt: skip
    elif not entry.queue and (entry.at is None) == (entry.cron is None):
        problem(
            "at",
            "give exactly one of `at` (a TOML datetime, e.g. 2026-12-01T09:00:00), "
            '`cron` (5 fields, e.g. "0 9 * * mon") or queue = true (the next free slot)',
        )
    for name in entry.accounts if entry.queue else []:
        if name in config.accounts and not config.accounts[name].slots:
            problem(
                "queue",
                f"account {name!r} has no slots for a queued post: add slots = "
                f'["mon-fri 09:00"] to [accounts.{name}], or give the post an `at`',
            )
    if entry.cron is not None and (why := cron_problem(entry.cron, now.replace(tzinfo=None))):
        problem("cron", why)
    at, until = (
        _instant(entry.at, zone, "at", problem),
        _instant(_end_of(entry.until), zone, "until", problem),
    )
    if until is not None and until < now:
        warnings.append(
            Problem(
                str(path),
                lines.key_line("post", 0, "until"),
                "post.until",
                f"until {entry.until} is in the past: this series will not run again; "
                "extend it or remove the entry",
                "warning",
            )
        )
    for name in entry.accounts:
        if name not in config.accounts:
            problem(
                "accounts",
                f"unknown account {name!r}; define [accounts.{name}] in "
                f"{config.path.name} or use one of: {', '.join(sorted(config.accounts))}",
            )
    for name, override in entry.override.items():
        if name not in entry.accounts:
            problem(
                f"override.{name}", f"override for {name!r}, which is not in this post's accounts"
            )
        elif override.text is None and override.first_comment is None:
            problem(f"override.{name}", f"override for {name!r} needs `text` or `first_comment`")
    if not (entry.text or entry.title or any(o.text for o in entry.override.values())):
        problem("text", "a post needs `text` (or a `title`)")
    if entry.link and not re.fullmatch(r"https?://[^\s]+", entry.link):
        problem(
            "link",
            f"link {echo(entry.link, 60)} must be one http:// or https:// address, "
            "with no spaces or line breaks",
        )
    if entry.author and (why := author_problem(config, entry.author)):
        problem("author", why)
    images: list[Image] = []
    roots = [config.resolve(folder) for folder in config.daemon.media_dirs]
    for img in entry.images:
        try:
            images.append(inspect_image(img.path, img.alt, path.parent, roots))
        except MediaError as exc:
            problem("images", str(exc))
    if problems:
        return None
    problems.extend(warnings)
    return Post(
        id=entry.id,
        file=sys.intern(str(path)),  # one string per file, not per post
        line=line,
        accounts=_shared(tuple(sys.intern(name) for name in entry.accounts)),
        text=entry.text,
        title=entry.title,
        link=entry.link,
        images=tuple(images),
        author=entry.author,
        draft=entry.draft,
        at=at,
        cron=entry.cron,
        until=until,
        overrides={n: o.text for n, o in entry.override.items() if o.text is not None}
        or NO_OVERRIDES,
        digest=digest,
        approved_by=entry.approved_by,
        approved=entry.approved,
        queue=entry.queue,
        first_comment=entry.first_comment,
        comment_overrides={
            n: o.first_comment for n, o in entry.override.items() if o.first_comment is not None
        }
        or NO_OVERRIDES,
    )


def author_problem(config: Config, author: str) -> str:
    """Why `author` is not one of the config's authors ("" when it is, or when the config
    names none: then an author is free text)."""
    if not config.authors or author in config.authors:
        return ""
    return (f"unknown author {author!r}; define [authors.{author}] in {config.path.name} "
            f"or use one of: {', '.join(sorted(config.authors))}")  # fmt: skip


def _end_of(until: datetime | date | None) -> datetime | None:
    """`until` as a datetime: a bare date means the end of that day."""
    if isinstance(until, date) and not isinstance(until, datetime):
        return datetime.combine(until, time(23, 59, 59))
    return until


def _instant(
    value: datetime | None, zone: ZoneInfo, key: str, problem: Callable[[str, str], None]
) -> datetime | None:
    """The UTC instant of a calendar time, or None with a problem when it has none."""
    if value is None:
        return None
    try:
        return to_utc(value, zone)
    except (OverflowError, ValueError):
        problem(key, f"{key} = {value.isoformat()} is outside the dates that can be scheduled")
        return None


@functools.lru_cache(maxsize=1024)
def _shared(accounts: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple per set of accounts, not one per post: 10,000 posts to the same five
    accounts hold one tuple (0.8 MB less resident, measured with bench/calendar_10k.py)."""
    return accounts

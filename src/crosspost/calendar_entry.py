"""One `[[post]]` table, validated: types, required keys, accounts, cron, links, images.

Every problem names the key it is about, so `check` can point at the line to fix.
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crosspost.calendar import Post
from crosspost.config import Config
from crosspost.media import Image, MediaError, inspect_image
from crosspost.problems import LineFinder, Problem, echo
from crosspost.timeutil import to_utc


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


def parse_entry(
    config: Config, path: Path, lines: LineFinder, item: Any, line: int, problems: list[Problem]
) -> Post | None:
    """Validate one [[post]] (the only one in `lines`); `line` is where its id is written."""

    def problem(key: str, message: str) -> None:
        problems.append(
            Problem(str(path), lines.key_line("post", 0, key.split(".")[0]), f"post.{key}", message)
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
                problem(key, f"{err['msg']} (got {echo(err.get('input'), 60)})")
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
    if entry.link and not re.fullmatch(r"https?://[^\s]+", entry.link):
        problem(
            "link",
            f"link {echo(entry.link, 60)} must be one http:// or https:// address, "
            "with no spaces or line breaks",
        )
    images: list[Image] = []
    roots = [config.resolve(folder) for folder in config.daemon.media_dirs]
    for img in entry.images:
        try:
            images.append(inspect_image(img.path, img.alt, path.parent, roots))
        except MediaError as exc:
            problem("images", str(exc))
    if problems:
        return None
    until = entry.until
    if isinstance(until, date) and not isinstance(until, datetime):
        until = datetime.combine(until, time(23, 59, 59))
    return Post(
        id=entry.id,
        file=sys.intern(str(path)),  # one string per file, not per post
        line=line,
        accounts=tuple(sys.intern(name) for name in entry.accounts),
        text=entry.text,
        title=entry.title,
        link=entry.link,
        images=tuple(images),
        author=entry.author,
        draft=entry.draft,
        at=to_utc(entry.at, zone) if entry.at else None,
        cron=entry.cron,
        until=to_utc(until, zone) if until else None,
        overrides={name: o.text for name, o in entry.override.items()},
    )

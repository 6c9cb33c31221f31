"""Loading calendar files: every `[[post]]` parsed, validated, and located by file and line.

A bad entry is reported and skipped, never allowed to stop the good ones. When an edit breaks
an entry (or a whole file) that was good before, the last good version keeps running until
the file is fixed, so a typo made at 08:59 does not cancel the 09:00 post.

Each file is cut at its ``[[post]]`` headers and each piece parsed on its own: a syntax error
then costs only its own entry, and a reload re-parses only the entries whose text changed
(a 10,000-post file reloads in a fraction of the time, without doubling its memory). A file
that cannot be cut safely (text before the first header, or a cut inside a multi-line
string, which the whole-file parse then tells apart) is parsed whole.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path
from typing import Any

from crosspost.calendar import Calendar, Post, calendar_files
from crosspost.calendar_entry import parse_entry
from crosspost.config import Config
from crosspost.problems import ConfigError, LineFinder, Problem, parse_toml, read_text

_POST_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*post[ \t]*\]\][ \t]*(#.*)?$", re.MULTILINE)
_PREAMBLE_OK = re.compile(r"^(\s*(#.*)?\n?)*$")
_ID = re.compile(r"^[ \t]*id[ \t]*=[ \t]*[\"']([^\"']+)[\"']", re.MULTILINE)


def load_calendar(config: Config, previous: Calendar | None = None) -> Calendar:
    calendar = Calendar(files=calendar_files(config))
    calendar.parsed_for = (config.daemon.timezone, frozenset(config.accounts))
    reusable = previous is not None and previous.parsed_for == calendar.parsed_for
    cache = previous.parsed if previous is not None and reusable else {}
    for path in calendar.files:
        if not path.exists():
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
        entries = _load_file(config, path, before, calendar, cache)
        calendar.good_entries[str(path)] = entries
        for post in entries.values():
            first = calendar.posts.get(post.id)
            if first is None:
                calendar.posts[post.id] = post
                continue
            calendar.problems.append(
                Problem(
                    post.file,
                    post.line,
                    "post.id",
                    f"duplicate id {post.id!r} (first used at {first.file}:{first.line}); "
                    "ids must be unique across all calendar files",
                )
            )
    return calendar


def _load_file(
    config: Config,
    path: Path,
    before: dict[str, Post],
    calendar: Calendar,
    cache: dict[bytes, tuple[Post, int]],
) -> dict[str, Post]:
    try:
        text = read_text(path)
        pieces = _cut(text, str(path))
    except ConfigError as exc:
        return _keep_file(path, before, calendar.problems, exc.problems)
    found: list[Problem] = []
    entries, syntax_error = _entries(config, path, pieces, before, calendar, cache, found)
    if syntax_error:
        # A cut inside a multi-line string looks like a syntax error in the piece: if the
        # whole file parses, it was that, and the whole-file pieces are the right ones.
        try:
            pieces = _whole(text, str(path))
        except ConfigError:
            pass
        else:
            found = []
            entries, _ = _entries(config, path, pieces, before, calendar, cache, found)
    calendar.problems.extend(found)
    return entries


def _entries(
    config: Config,
    path: Path,
    pieces: list[tuple[int, str, dict[str, Any] | None]],
    before: dict[str, Post],
    calendar: Calendar,
    cache: dict[bytes, tuple[Post, int]],
    problems: list[Problem],
) -> tuple[dict[str, Post], bool]:
    entries: dict[str, Post] = {}
    syntax_error = False
    for start, piece, data in pieces:
        digest = hashlib.blake2b(piece.encode(), digest_size=16).digest()
        hit = cache.get(digest) if data is None else None
        if hit is not None and all(image.path.is_file() for image in hit[0].images):
            cached, offset = hit
            if cached.line != start + offset:  # lines were added or removed above it
                cached = dataclasses.replace(cached, line=start + offset)
            calendar.parsed[digest] = hit
            _add(entries, cached, problems)
            continue
        found: list[Problem] = []
        post = None
        try:
            parsed = data if data is not None else parse_toml(piece, str(path), start)
        except ConfigError as exc:
            syntax_error = True
            found.extend(exc.problems)
        else:
            lines = LineFinder(piece, start)
            item = _only_post(parsed, path, lines, found)
            if item is not None:
                match = _ID.search(piece)
                line = start + piece.count("\n", 0, match.start()) if match else start
                post = parse_entry(config, path, lines, item, line, found)
        if post is not None:
            if data is None:
                calendar.parsed[digest] = (post, post.line - start)
            _add(entries, post, problems)
            continue
        problems.extend(found)
        match = _ID.search(piece)
        post_id = match.group(1) if match else ""
        if post_id in before and post_id not in entries:
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
    return entries, syntax_error


def _cut(text: str, file: str) -> list[tuple[int, str, dict[str, Any] | None]]:
    """(first line, text, parsed data or None) for each [[post]] of the file."""
    starts = [m.start() for m in _POST_HEADER.finditer(text)]
    if not starts or not _PREAMBLE_OK.match(text[: starts[0]]):
        return _whole(text, file)
    pieces: list[tuple[int, str, dict[str, Any] | None]] = []
    line = text.count("\n", 0, starts[0]) + 1
    for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
        piece = text[begin:end]
        pieces.append((line, piece, None))
        line += piece.count("\n")
    return pieces


def _whole(text: str, file: str) -> list[tuple[int, str, dict[str, Any] | None]]:
    data = parse_toml(text, file)
    lines = LineFinder(text)
    problems = [
        Problem(
            file,
            lines.key_line(key, 0, ""),
            key,
            f"unknown top-level key {key!r}; calendar files hold [[post]] tables",
        )
        for key in sorted(set(data) - {"post"})
    ]
    raw = data.get("post", [])
    if not isinstance(raw, list):
        problems.append(Problem(file, 1, "post", "write each post as a [[post]] table"))
    if problems:
        raise ConfigError(problems)
    pieces: list[tuple[int, str, dict[str, Any] | None]] = []
    for index, item in enumerate(raw):
        start, end = lines.table_line("post", index)
        piece = "\n".join(lines.lines[start - 1 : end])
        pieces.append((start, piece, {"post": [item]}))
    return pieces


def _only_post(data: dict[str, Any], path: Path, lines: LineFinder, found: list[Problem]) -> Any:
    extra = sorted(set(data) - {"post"})
    for key in extra:
        found.append(
            Problem(
                str(path),
                lines.key_line(key, 0, ""),
                key,
                f"unknown key {key!r} outside a [[post]]",
            )
        )
    raw = data.get("post")
    return raw[0] if isinstance(raw, list) and len(raw) == 1 and not extra else None


def _keep_file(
    path: Path, before: dict[str, Post], problems: list[Problem], found: list[Problem]
) -> dict[str, Post]:
    problems.extend(found)
    if before:
        problems.append(
            Problem(
                str(path),
                0,
                "",
                "keeping the last good version of this file "
                f"({len(before)} posts) until it is fixed",
                "warning",
            )
        )
    return before


def _add(entries: dict[str, Post], post: Post, problems: list[Problem]) -> None:
    if post.id in entries:
        problems.append(
            Problem(post.file, post.line, "post.id", f"duplicate id {post.id!r} in this file")
        )
    else:
        entries[post.id] = post

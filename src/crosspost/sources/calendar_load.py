"""Loading calendar files: every `[[post]]` parsed, validated, and located by file and line.

A bad entry is reported and skipped, never allowed to stop the good ones. When an edit breaks
an entry (or a whole file) that was good before, the last good version keeps running until
the file is fixed, so a typo made at 08:59 does not cancel the 09:00 post.

Each file is cut into one piece per entry (`calendar_pieces`): a syntax error, a byte that is
not UTF-8 or a stray key costs only its own piece, and a reload re-parses only the entries
whose text changed (a 10,000-post file reloads in a fraction of the time, without doubling
its memory). An id used twice keeps running where it was first seen; the newcomer is the one
rejected, whatever the files' names.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
from pathlib import Path

from crosspost.config.problems import ConfigError, LineFinder, Problem
from crosspost.config.settings import Config
from crosspost.sources import calendar_pieces
from crosspost.sources.calendar import Calendar, Post, calendar_files
from crosspost.sources.calendar_entry import author_problem, parse_entry
from crosspost.sources.calendar_pieces import Piece


def load_calendar(config: Config, previous: Calendar | None = None) -> Calendar:
    files, missing = calendar_files(config)
    calendar = Calendar(files=files, problems=missing)
    calendar.parsed_for = (config.daemon.timezone, frozenset(config.accounts))
    reusable = previous is not None and previous.parsed_for == calendar.parsed_for
    cache = _parsed_by_digest(previous) if previous is not None and reusable else {}
    owners = {pid: post.file for pid, post in previous.posts.items()} if previous else {}
    entries_of: dict[str, dict[str, Post]] = {}
    for path in calendar.files:
        before = previous.good_entries.get(str(path), {}) if previous else {}
        entries_of[str(path)] = _load_file(config, path, before, calendar, cache)
        calendar.good_entries[str(path)] = entries_of[str(path)]
    for entries in entries_of.values():
        for post in entries.values():
            first = calendar.posts.get(post.id)
            if first is None or (owners.get(post.id) == post.file != first.file):
                if first is not None:  # the file that had it before keeps it
                    calendar.problems.append(_duplicate(first, post))
                calendar.posts[post.id] = post
            else:
                calendar.problems.append(_duplicate(post, first))
    return calendar


def _parsed_by_digest(previous: Calendar) -> dict[bytes, Post]:
    """The previous load's posts by the digest of their text, built only for a reload
    (keeping it between reloads cost 1.4 MB for 10,000 posts)."""
    return {
        post.digest: post
        for entries in previous.good_entries.values()
        for post in entries.values()
        if post.digest
    }


def _duplicate(rejected: Post, kept: Post) -> Problem:
    return Problem(
        rejected.file,
        rejected.line,
        "post.id",
        f"duplicate id {rejected.id!r}: {kept.file}:{kept.line} has it and keeps running; "
        "give this entry a new id (ids are unique across all calendar files)",
    )


def _load_file(
    config: Config,
    path: Path,
    before: dict[str, Post],
    calendar: Calendar,
    cache: dict[bytes, Post],
) -> dict[str, Post]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        why = "symlink loop" if exc.errno == 40 else exc.strerror
        return _keep_file(path, before, calendar.problems, f"cannot read file: {why}")
    found: list[Problem] = []
    pieces = calendar_pieces.cut(raw, str(path))
    entries, syntax_error = _entries(config, path, pieces, before, calendar, cache, found)
    if syntax_error:
        # A cut inside a multi-line string looks like a syntax error in the piece: if the
        # whole file parses, it was that, and the whole-file pieces are the right ones.
        try:
            pieces = calendar_pieces.whole(raw.decode("utf-8-sig"), str(path))
        except (UnicodeDecodeError, ConfigError):
            pass
        else:
            found = []
            entries, _ = _entries(config, path, pieces, before, calendar, cache, found)
    calendar.problems.extend(found)
    return entries


def _entries(
    config: Config,
    path: Path,
    pieces: list[Piece],
    before: dict[str, Post],
    calendar: Calendar,
    cache: dict[bytes, Post],
    problems: list[Problem],
) -> tuple[dict[str, Post], bool]:
    entries: dict[str, Post] = {}
    syntax_error = False
    signed = _Signer()
    for piece in pieces:
        digest = hashlib.blake2b(piece.text.encode(), digest_size=16).digest()
        hit = cache.get(digest) if piece.data is None and piece.problems is None else None
        if hit is not None and all(image.path.is_file() for image in hit.images):
            if hit.line != piece.id_line:  # lines were added or removed above it
                hit = dataclasses.replace(hit, line=piece.id_line)
            _add(entries, signed(hit), problems)
            continue
        # Pieces from the whole-file fallback come parsed: their text is not the entry's
        # own, so they carry no digest and are parsed again next time.
        whole_file = piece.data is not None
        calendar_pieces.parse(piece, str(path))
        if piece.data is not None and "post" not in piece.data and "author" in piece.data:
            signed.author = _file_author(config, path, piece, problems)
            if not piece.data:
                continue
        found = list(piece.problems or [])
        syntax_error |= piece.syntax_error
        post = None
        if not piece.problems:
            post = _post(config, path, piece, found, b"" if whole_file else digest)
        piece.data = None  # used: a 10,000-post file would otherwise peak 12 MB higher
        if post is not None:
            _add(entries, signed(post), problems)
            problems.extend(found)  # warnings about a post that runs anyway
            continue
        problems.extend(found)
        post_id = piece.post_id
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


def _post(
    config: Config, path: Path, piece: Piece, found: list[Problem], digest: bytes
) -> Post | None:
    """The piece's post, or None with the reasons in `found` (stray keys reported too)."""
    data = piece.data or {}
    lines = LineFinder(piece.text or "", piece.line)
    for key in sorted(set(data) - {"post"}):
        close = difflib.get_close_matches(key, ["post"], n=1)
        hint = "did you mean [[post]]?" if close else "calendar files hold [[post]] tables"
        found.append(
            Problem(str(path), lines.key_line(key, 0, ""), key, f"unknown key {key!r}; {hint}")
        )
    raw = data.get("post")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 1 or found:
        if not isinstance(raw, list):
            found.append(calendar_pieces.not_a_list(str(path)))
        return None
    try:
        return parse_entry(config, path, lines, raw[0], piece.id_line, found, digest)
    except Exception as exc:  # a check that did not foresee this value: this entry only
        found.append(Problem(str(path), piece.id_line, "post", f"cannot use this entry: {exc}"))
        return None


class _Signer:
    """Gives each post of a file the author named at the file's top (kept apart from the
    entry's own, so a cached entry follows a changed top line)."""

    def __init__(self) -> None:
        self.author = ""

    def __call__(self, post: Post) -> Post:
        if post.file_author == self.author:
            return post
        return dataclasses.replace(post, file_author=self.author)


def _file_author(config: Config, path: Path, piece: Piece, problems: list[Problem]) -> str:
    """The top-of-file `author`, taken out of the piece (its other keys are reported as
    stray); "" with a problem when it is not a known author."""
    assert piece.data is not None
    value = piece.data.pop("author")
    line = LineFinder(piece.text or "", piece.line).key_line("author", 0, "")
    why = author_problem(config, value) if isinstance(value, str) else "author must be a string"
    if why:
        problems.append(Problem(str(path), line, "author", why))
        return ""
    return str(value)


def _keep_file(
    path: Path, before: dict[str, Post], problems: list[Problem], why: str
) -> dict[str, Post]:
    problems.append(Problem(str(path), 0, "", why))
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

"""Cutting a calendar file into one piece per post, so that a broken piece costs only itself.

A file is read as bytes (one copy: decoding it whole would hold it twice, and wide) and cut
at its ``[[post]]`` headers (and at ``[post]`` headers, a
common slip that TOML would otherwise merge with the post before it). Each piece is decoded
and parsed on its own: a byte that is not UTF-8, a syntax error or an unclosed string in one
entry is reported at its line, and the other entries run. Text before the first header (a
stray key) is a piece of its own too. A cut that falls inside a multi-line string looks like
a syntax error in a piece; `calendar_load` then tries the whole file, which tells the two
apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from crosspost.config.problems import ConfigError, LineFinder, Problem, parse_toml

_HEADER = re.compile(rb"^[ \t]*\[(\[?)[ \t]*post[ \t]*\]\]?[ \t]*(#.*)?\r?$", re.MULTILINE)
_BOM = b"\xef\xbb\xbf"
_ID = re.compile(r"^[ \t]*id[ \t]*=[ \t]*[\"']([^\"'\n]+)[\"']", re.MULTILINE)


@dataclass
class Piece:
    """One entry's text, where it starts, and what was found parsing it."""

    line: int
    text: str
    data: dict[str, Any] | None = None  # already parsed (whole-file parse), else parse it
    problems: list[Problem] | None = None  # this piece cannot be used: why
    syntax_error: bool = False

    @cached_property
    def _id(self) -> re.Match[str] | None:
        return _ID.search(self.text)

    @property
    def post_id(self) -> str:
        return self._id.group(1) if self._id else ""

    @property
    def id_line(self) -> int:
        match = self._id
        return self.line + self.text.count("\n", 0, match.start()) if match else self.line


def cut(raw: bytes, file: str) -> list[Piece]:
    """The file's pieces: the text before the first header, then one per header."""
    raw = raw.removeprefix(_BOM)  # editors on Windows add one; it is not part of the TOML
    starts = [m.start() for m in _HEADER.finditer(raw)]
    bounds = [0, *starts] if not starts or starts[0] > 0 else starts
    pieces = []
    line = 1
    view = memoryview(raw)  # each piece is decoded from the file's bytes, not from a copy
    for begin, end in zip(bounds, [*bounds[1:], len(raw)], strict=True):
        piece = _decoded(view[begin:end], line, file)
        line += raw.count(b"\n", begin, end)
        if piece.problems is None and piece.text.lstrip().startswith("[post]"):
            piece.problems = [
                Problem(
                    file,
                    piece.line,
                    "post",
                    "write [[post]] with two brackets on each side: [post] is one table, "
                    "not one post of a list",
                )
            ]
        pieces.append(piece)
    return pieces


def parse(piece: Piece, file: str) -> None:
    """Parse the piece's TOML, unless already done; problems are kept on the piece."""
    if piece.data is not None or piece.problems is not None:
        return
    try:
        piece.data = parse_toml(piece.text, file, piece.line, table="post")
    except ConfigError as exc:
        piece.problems, piece.syntax_error = exc.problems, True


def whole(text: str, file: str) -> list[Piece]:
    """The file parsed at once: one piece per [[post]], plus one for what else is at the top.

    Raises ConfigError when the whole file does not parse either.
    """
    data = parse_toml(text, file, table="post")
    lines = LineFinder(text)
    pieces = []
    extra = {key: value for key, value in data.items() if key != "post"}
    if extra:  # stray keys: reported by the loader, at their lines in the whole text
        pieces.append(Piece(1, text, data=extra))
    raw = data.get("post", [])
    if not isinstance(raw, list):
        return [
            *pieces,
            Piece(lines.table_line("post", 0)[0] or 1, "", problems=[not_a_list(file)]),
        ]
    for index, item in enumerate(raw):
        start, end = lines.table_line("post", index)
        piece = "\n".join(lines.lines[start - 1 : end])
        pieces.append(Piece(start, piece, data={"post": [item]}))
    return pieces


def not_a_list(file: str) -> Problem:
    return Problem(file, 1, "post", "write each post as a [[post]] table")


def _decoded(view: memoryview, line: int, file: str) -> Piece:
    try:
        return Piece(line, str(view, "utf-8"))
    except UnicodeDecodeError as exc:
        chunk = view.tobytes()
        bad_line = line + chunk.count(b"\n", 0, exc.start)
        column = exc.start - (chunk.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (
            f"byte 0x{chunk[exc.start]:02X} at column {column} is not UTF-8; save the file "
            "as UTF-8 (this entry is skipped, the others run)"
        )
        text = chunk.decode("utf-8", errors="replace")
        return Piece(line, text, problems=[Problem(file, bad_line, "", message)])

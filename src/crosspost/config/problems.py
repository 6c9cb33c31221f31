"""Problems found in the files people edit, each pointing at file, line and key.

Every check in crosspost reports through `Problem` so that `check`, `run` and the reload
watcher all say the same thing the same way: where it is, what is wrong, how to fix it.
"""

from __future__ import annotations

import difflib
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import tomli as tomllib  # the same parser as the standard library's, compiled: 2.6x faster

from crosspost.errors import ConfigurationError


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    key: str
    message: str
    severity: str = "error"  # or "warning", or "note" (worth knowing, nothing to fix here)

    def as_note(self) -> Problem:
        return self.with_severity("note")

    def with_severity(self, severity: str) -> Problem:
        return Problem(self.file, self.line, self.key, self.message, severity)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        key = f" [{self.key}]" if self.key else ""
        return f"{where}:{key} {self.severity}: {self.message}"


def echo(value: object, keep: int = 24) -> str:
    """A value as a message may show it: in full when short, else its start and its length.

    A value typed under the wrong key may be a token; a message must never carry one whole.
    """
    text = repr(value)
    if isinstance(value, dict | list) or len(text) > keep:
        shown = text[: keep // 3] if isinstance(value, str) else type(value).__name__
        return f"{shown}… ({len(str(value))} characters)"
    return text


def explain(
    err: Mapping[str, Any], known: Sequence[str], key: str = "", keep: int = 24, show: bool = True
) -> str:
    """One pydantic validation error as a sentence a person can act on: an unknown key with
    the closest known one, a missing key, or the rule broken with what was written (`show`,
    through `echo`). The one converter for the config, calendar entries and adapter tables."""
    key = key or (str(err["loc"][-1]) if err["loc"] else "")
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
        return f"unknown key {key!r}; {hint}"
    if err["type"] == "missing":
        return f"missing required key {key!r}"
    got = f" (got {echo(err.get('input'), keep)})" if show else ""
    return f"{str(err['msg']).removeprefix('Value error, ')}{got}"


class ConfigError(ConfigurationError):
    """Raised when a file cannot be used at all; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_TOML_ERROR_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """Read a TOML file; a syntax error becomes a ConfigError naming the line."""
    text = read_text(path)
    return parse_toml(text, str(path)), text


def read_text(path: Path) -> str:
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError([Problem(str(path), 0, "", "not a regular file; name a .toml file")])
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError([Problem(str(path), 0, "", f"cannot read file: {why}")]) from exc


_KEY_AT = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=\s*(.*)$")
_DATE_LIKE = re.compile(r"^\d{1,4}-\d{1,2}-\d{1,2}")


def parse_toml(text: str, file: str, first_line: int = 1, table: str = "") -> dict[str, Any]:
    """Parse TOML text that starts at `first_line` of `file`; errors name the real line, the
    key written on it (inside `table`), and where an unclosed multi-line string opens."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        message = "values nested too deeply (more than a few hundred levels of [ or {)"
        raise ConfigError([Problem(file, first_line, "", f"invalid TOML: {message}")]) from None
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_ERROR_AT.search(str(exc))
        offset = int(match.group(1)) - 1 if match else 0
        msg = _TOML_ERROR_AT.sub("", str(exc)).strip()
        hint = "fix the TOML syntax (quotes, brackets, one key per line)"
        lines = text.splitlines()
        if "Unterminated string" in msg and (opened := _unclosed_string(lines)) is not None:
            offset, hint = opened, 'it opens here and is never closed: add the closing """'
        key, value = "", ""
        if 0 <= offset < len(lines) and (written := _KEY_AT.match(lines[offset])):
            key, value = written.groups()
            if _DATE_LIKE.match(value):
                msg = f"invalid date or time {value.strip()}"
                hint = "write it like 2026-12-01T09:00:00 (month 1-12, day 1-31, hour 0-23)"
        where = f"{table}.{key}" if table and key else key
        problem = Problem(file, offset + first_line, where, f"invalid TOML: {msg}; {hint}")
        raise ConfigError([problem]) from exc


def _unclosed_string(lines: list[str]) -> int | None:
    """The index of the line where a multi-line string opens and is never closed."""
    opened: tuple[str, int] | None = None
    for number, line in enumerate(lines):
        for quote in ('"""', "'''"):
            if (opened is None or opened[0] == quote) and line.count(quote) % 2:
                opened = None if opened else (quote, number)
                break
    return opened[1] if opened else None


class LineFinder:
    """Finds the line of a table or key in TOML source, since tomllib keeps no positions.

    Tables are addressed like ("voices", "casual") or ("post", 3) for the fourth [[post]].
    `first_line` is where the text starts in its file, for text cut from a larger file.
    """

    def __init__(self, text: str, first_line: int = 1) -> None:
        self.text = text
        self.first = first_line

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @cached_property
    def _tables(self) -> tuple[list[tuple[str, int]], dict[tuple[str, int], int]]:
        """(dotted name, header line) in file order, and (name, n-th in array) -> position.

        Built on first use: most texts never need a line number.
        """
        tables: list[tuple[str, int]] = []
        index: dict[tuple[str, int], int] = {}
        counts: dict[str, int] = {}
        in_string: str | None = None  # inside a multi-line string: no headers there
        for number, line in enumerate(self.lines, start=self.first):
            for quote in ('"""', "'''"):
                if (in_string in (None, quote)) and line.count(quote) % 2:
                    in_string = None if in_string else quote
                    break
            else:
                if in_string is None and "[" in line and (match := _HEADER.match(line)):
                    name = ".".join(p.strip().strip('"') for p in match.group(2).split("."))
                    position = counts.get(name, 0)
                    if match.group(1) == "[[":
                        counts[name] = position + 1
                    index.setdefault((name, position), len(tables))
                    tables.append((name, number))
        return tables, index

    def table_line(self, name: str, index: int = 0) -> tuple[int, int]:
        """(first line, last line) of a table; (0, 0) when not written as a header."""
        tables, positions = self._tables
        position = positions.get((name, index))
        if position is None:
            return 0, 0
        end = self.first + len(self.lines) - 1
        for later in range(position + 1, len(tables)):
            other, next_line = tables[later]
            if not other.startswith(name + "."):
                end = next_line - 1
                break
        return tables[position][1], end

    def key_line(self, table: str, index: int, key: str) -> int:
        """Line of `key` inside the table, else the table's header line, else the first."""
        start, end = self.table_line(table, index)
        if not start:
            return self._top_level_key(table) or self.first
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(start, end + 1):
            if pattern.match(self.lines[number - self.first]):
                return number
        return start

    def _top_level_key(self, key: str) -> int:
        pattern = re.compile(rf"^\s*\"?{re.escape(key.split('.')[0])}\"?\s*[=.]")
        for number, line in enumerate(self.lines, start=self.first):
            if pattern.match(line):
                return number
        return 0

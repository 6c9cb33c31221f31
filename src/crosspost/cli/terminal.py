"""Plain-text tables that fit the terminal (the widest column gives way, cut with an ellipsis),
and the bounded whole numbers the commands take.

When the output is not a terminal, nothing is cut.

Hand-written (25 lines) rather than a dependency: the commands only need aligned columns.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable, Sequence


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], width: int | None = None
) -> str:
    cells = [[str(h) for h in headers]] + [[_one_line(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    if width is None and not sys.stdout.isatty():
        width = 10_000  # piped into grep or a file: keep every character
    room = (width or shutil.get_terminal_size((120, 24)).columns) - 2 * (len(headers) - 1)
    while sum(widths) > room and max(widths) > 8:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    lines = []
    for number, row in enumerate(cells):
        lines.append("  ".join(_fit(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _one_line(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def _fit(cell: str, width: int) -> str:
    return cell.ljust(width) if len(cell) <= width else cell[: width - 1] + "…"


def bounded(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, else a usage error."""

    def number(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return number

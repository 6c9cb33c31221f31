"""Fit a rendered text to a network's rules: truncate, split into a thread, or reject.

Truncation cuts at a word boundary, never inside a URL, ends with an ellipsis, and keeps a
trailing link (the part readers click) when the text ends with one. Threads are numbered
"1/3" and cut at word boundaries too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from crosspost.textrules import URL, TextRules, post_problem

Overflow = Literal["truncate", "thread", "reject"]
ELLIPSIS = "…"
_WORDS = re.compile(r"\S+\s*")


class DoesNotFit(ValueError):
    """The post breaks one of the network's rules; `check` reports it, the dispatcher fails it."""


class NotPublishable(DoesNotFit):
    """Too many hashtags, mentions or images, or no image where one is required."""


class TextTooLong(DoesNotFit):
    """The text does not fit and the voice says `reject` (or nothing else can work)."""

    def __init__(self, count: int, rules: TextRules, why: str = "") -> None:
        self.count = count
        super().__init__(
            f"text is {count} for a limit of {rules.describe()}"
            + (
                f": {why}"
                if why
                else "; shorten it, write an override, or "
                'set overflow = "truncate" or "thread" on the voice'
            )
        )


def fit(text: str, rules: TextRules, overflow: Overflow, images: int = 0) -> list[str]:
    """The parts to publish: one when it fits or is truncated, several for a thread."""
    parts = _fit_text(text.strip(), rules, overflow)
    problem = post_problem(rules, parts, images)
    if problem:
        raise NotPublishable(problem)
    return parts


def _fit_text(text: str, rules: TextRules, overflow: Overflow) -> list[str]:
    if rules.fits(text):
        return [text]
    if overflow == "reject":
        raise TextTooLong(rules.count(text), rules)
    if overflow == "thread" and rules.threads:
        return split_thread(text, rules)
    return [truncate(text, rules)]


def truncate(text: str, rules: TextRules) -> str:
    head, tail = _split_trailing_link(text)
    suffix = ELLIPSIS + (" " + tail if tail else "")
    words = _WORDS.findall(head)
    best = _longest_prefix(words, _fits_with(rules, suffix))
    if best == 0:
        if tail and rules.fits(tail):
            return tail
        raise TextTooLong(rules.count(text), rules, "not even the first word fits")
    return "".join(words[:best]).rstrip().rstrip(",;:") + suffix


def split_thread(text: str, rules: TextRules) -> list[str]:
    words = _WORDS.findall(text)
    total = 2
    while True:
        marker = f" {total}/{total}"
        parts: list[str] = []
        rest = words
        while rest:
            count = _longest_prefix(rest, _fits_with(rules, marker))
            if count == 0:
                raise TextTooLong(rules.count(text), rules, "a single word is longer than a post")
            parts.append("".join(rest[:count]).rstrip())
            rest = rest[count:]
        if len(parts) <= total:
            return (
                [f"{part} {n}/{len(parts)}" for n, part in enumerate(parts, 1)]
                if len(parts) > 1
                else parts
            )
        total = len(parts)


def _fits_with(rules: TextRules, suffix: str) -> Callable[[str], bool]:
    return lambda prefix: rules.fits(prefix.rstrip() + suffix)


def _longest_prefix(words: list[str], ok: Callable[[str], bool]) -> int:
    """Largest n such that ok("".join(words[:n])); binary search, since fitting is monotone."""
    low, high = 0, len(words)
    while low < high:
        mid = (low + high + 1) // 2
        if ok("".join(words[:mid])):
            low = mid
        else:
            high = mid - 1
    return low


def _split_trailing_link(text: str) -> tuple[str, str]:
    stripped = text.rstrip()
    match = None
    for match in URL.finditer(stripped):  # noqa: B007 - we want the last one
        pass
    if match is not None and match.end() == len(stripped) and match.start() > 0:
        return stripped[: match.start()].rstrip(), match.group()
    return stripped, ""

"""Fit a rendered text to a network's rules: truncate, split into a thread, or reject.

Only the post's own text is shortened or split: what the voice adds around it (a title
before, a signature, hashtags or a link after) is kept whole, on the first and the last
part of a thread. Cuts fall at the end of a sentence when one is in the second half of the
room, else after a clause (``, ; :``), else between words: never inside a URL, and never at
a no-break space (U+00A0, U+202F, U+2007, U+2060), which French typography puts inside
numbers ("1 254") and before ``? ! : ;``. Truncation ends with an ellipsis and keeps a link
that ends the text; threads are numbered "1/3".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from crosspost.errors import RenderError
from crosspost.render.textrules import URL, TextRules, post_problem

Overflow = Literal["truncate", "thread", "reject"]
ELLIPSIS = "…"
# Whitespace where a line may break: every Unicode space except the no-break ones.
_BREAKABLE = "\t\n\v\f\r \u1680\u2000-\u2006\u2008-\u200a\u2028\u2029\u205f\u3000"
_WORDS = re.compile(f"[^{_BREAKABLE}]+[{_BREAKABLE}]*|[{_BREAKABLE}]+")
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")
_CLAUSE_END = re.compile(r"[,;:]$")
Pieces = tuple[str, str, str]  # (head, body, tail): see voice.render_parts


class DoesNotFit(RenderError, ValueError):
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


def fit(
    text: str,
    rules: TextRules,
    overflow: Overflow,
    images: Sequence[object] | int = 0,
    pieces: Callable[[], Pieces | None] | None = None,
) -> list[str]:
    """The parts to publish: one when it fits or is truncated, several for a thread.

    `pieces` (asked only when the text is too long) splits the text into the voice's head,
    the post's body and the voice's tail, so that only the body is cut.
    """
    parts = _fit_text(text.strip(), rules, overflow, pieces)
    problem = post_problem(rules, parts, images)
    if problem:
        raise NotPublishable(problem)
    return parts


def _fit_text(
    text: str, rules: TextRules, overflow: Overflow, pieces: Callable[[], Pieces | None] | None
) -> list[str]:
    if rules.fits(text):
        return [text]
    if overflow == "reject":
        raise TextTooLong(rules.count(text), rules)
    head, body, tail = (pieces() if pieces else None) or ("", text, "")
    if not rules.fits((head + ELLIPSIS + tail).strip()):
        raise TextTooLong(
            rules.count(text),
            rules,
            "what the voice adds (title, signature, hashtags, link) leaves no room for the "
            "text; shorten the voice or write an override",
        )
    if overflow == "thread" and rules.threads:
        return split_thread(body, rules, head, tail)
    return [truncate(body, rules, head, tail)]


def truncate(text: str, rules: TextRules, head: str = "", tail: str = "") -> str:
    """The longest start of `text` that fits between `head` and `tail`, with an ellipsis."""
    body, link = _split_trailing_link(text)
    after = (" " + link if link else "") + tail
    words = _WORDS.findall(body)

    def shortened(count: int) -> str:
        kept = "".join(words[:count]).rstrip()
        if _SENTENCE_END.search(kept):
            return kept + " " + ELLIPSIS
        return kept.rstrip(",;:") + ELLIPSIS

    def ok(count: int) -> bool:
        return rules.fits((head + shortened(count) + after).strip())

    longest = _longest(len(words), ok)
    if longest == 0:
        if link and rules.fits((head + link + tail).strip()):
            return (head + link + tail).strip()
        raise TextTooLong(rules.count(text), rules, "not even the first word fits")
    return (head + shortened(_best_cut(words, longest)) + after).strip()


def split_thread(text: str, rules: TextRules, head: str = "", tail: str = "") -> list[str]:
    """Numbered parts; `head` opens the first, `tail` closes the last."""
    words = _WORDS.findall(text)
    total = 2
    while True:
        marker = f" {total}/{total}"
        parts: list[str] = []
        rest = words
        while rest:
            before = head if not parts else ""
            last = (before + "".join(rest)).rstrip() + tail + marker
            if rules.fits(last.strip()):
                parts.append((before + "".join(rest)).rstrip() + tail)
                break
            budget = rest

            def ok(
                count: int, before: str = before, budget: list[str] = budget, end: str = marker
            ) -> bool:
                return rules.fits((before + "".join(budget[:count])).strip() + end)

            count = _longest(len(rest) - 1, ok)  # leave words for the last part's tail
            if count == 0 and len(rest) == 1 and ok(1):  # the tail needs a part of its own
                parts += [(before + rest[0]).rstrip(), tail]
                break
            if count == 0:
                raise TextTooLong(rules.count(text), rules, "a single word is longer than a post")
            count = _best_cut(rest, count)
            parts.append((before + "".join(rest[:count])).rstrip())
            rest = rest[count:]
        if len(parts) <= total:
            if len(parts) == 1:
                return [parts[0].strip()]
            return [f"{part.strip()} {n}/{len(parts)}" for n, part in enumerate(parts, 1)]
        total = len(parts)


def _best_cut(words: list[str], longest: int) -> int:
    """Where to cut within the first `longest` words: a sentence end, else a clause end,
    else a word, taking a sentence or clause end only if it keeps half of the room."""
    room = len("".join(words[:longest]))
    for pattern in (_SENTENCE_END, _CLAUSE_END):
        for count in range(longest, 0, -1):
            kept = "".join(words[:count])
            if len(kept) * 2 < room:
                break
            if pattern.search(kept.rstrip()) or (count < len(words) and "\n" in words[count - 1]):
                return count
    return longest


def _longest(limit: int, ok: Callable[[int], bool]) -> int:
    """Largest n <= limit with ok(n); binary search, since fitting is monotone."""
    low, high = 0, max(limit, 0)
    while low < high:
        mid = (low + high + 1) // 2
        if ok(mid):
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

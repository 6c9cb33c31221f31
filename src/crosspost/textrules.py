"""How each network counts characters, and whether a text fits.

An adapter declares a `TextRules`; `check` and `preview` use it before anything is sent, and
the dispatcher uses it to fit the text (see `fitting`). Counting rules:

* ``chars``: Unicode code points after NFC (Facebook, LinkedIn, Instagram, Discord);
* ``graphemes``: user-perceived characters (`regex` ``\\X``), every URL counts `url_length`
  (Mastodon: 23) — Bluesky also caps UTF-8 bytes with `max_bytes`;
* ``x``: twitter-text v3 weighted length (CJK and emoji weigh 2, every URL 23).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

import regex
from twitter_text import parse_tweet

Counting = Literal["chars", "graphemes", "x"]
URL = regex.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", regex.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class TextRules:
    limit: int
    counting: Counting = "chars"
    url_length: int | None = None  # every URL counts this much, whatever its length
    max_bytes: int | None = None  # UTF-8 cap (Bluesky)
    threads: bool = False  # the network can chain replies, so `overflow = "thread"` works

    def count(self, text: str) -> int:
        text = unicodedata.normalize("NFC", text)
        if self.counting == "x":
            return int(parse_tweet(text).weightedLength)
        extra = 0
        if self.url_length is not None:
            for match in URL.finditer(text):
                extra += self.url_length - self._raw_count(match.group())
        return self._raw_count(text) + extra

    def _raw_count(self, text: str) -> int:
        if self.counting == "graphemes":
            return len(_GRAPHEME.findall(text))
        return len(text)

    def fits(self, text: str) -> bool:
        if self.max_bytes is not None and len(text.encode("utf-8")) > self.max_bytes:
            return False
        return self.count(text) <= self.limit

    def describe(self) -> str:
        urls = f", URLs count {self.url_length}" if self.url_length else ""
        return f"{self.limit} {self.counting}{urls}"


X_RULES = TextRules(limit=280, counting="x", threads=True)

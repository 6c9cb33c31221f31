"""How each network counts characters, and whether a text fits.

An adapter declares a `TextRules`; `check` and `preview` use it before anything is sent, and
the dispatcher uses it to fit the text (see `fitting`). Counting rules:

* ``chars``: Unicode code points after NFC (Facebook, LinkedIn, Instagram, Discord);
* ``graphemes``: user-perceived characters (`regex` ``\\X``), every URL counts `url_length`
  (Mastodon: 23) — Bluesky also caps UTF-8 bytes with `max_bytes`;
* a network's own count: the adapter passes `counter` (and names it in `counting`), such as
  X's weighted length in crosspost-x; `bound`, when given, is a cheap upper bound of it that
  answers first for texts far below the limit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex

URL = regex.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]", regex.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")
HASHTAG = regex.compile(r"(?<![\w#&])#\w*[^\W\d]\w*")
MENTION = regex.compile(r"(?<![\w@])@[A-Za-z0-9_.]+")


@dataclass(frozen=True)
class TextRules:
    limit: int
    counting: str = "chars"  # "chars", "graphemes", or the name of `counter`'s count
    counter: Callable[[str], int] | None = None  # the network's own count, if it has one
    bound: Callable[[str], int] | None = None  # a cheap upper bound of `counter`
    url_length: int | None = None  # every URL counts this much, whatever its length
    max_bytes: int | None = None  # UTF-8 cap (Bluesky)
    threads: bool = False  # the network can chain replies, so `overflow = "thread"` works
    max_hashtags: int | None = None  # Instagram: 30
    max_mentions: int | None = None  # Instagram: 20
    max_images: int | None = None  # X: 4, Instagram: 10 (a carousel)
    needs_image: bool = False  # Instagram publishes nothing without one
    image_types: frozenset[str] = frozenset({"jpeg", "png", "gif", "webp"})
    max_image_bytes: int | None = None  # the network's size limit for one image
    refused: str = ""  # characters the network refuses in a post (X: U+FFFE, U+FEFF, U+FFFF)

    def count(self, text: str) -> int:
        text = unicodedata.normalize("NFC", text)
        if self.counter is not None:
            return self.counter(text)
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
        if self.bound is not None and self.bound(text) <= self.limit:
            return True  # an exact count can cost ~1 ms a call; most posts are far below
        return self.count(text) <= self.limit

    def describe(self) -> str:
        urls = f", URLs count {self.url_length}" if self.url_length else ""
        return f"{self.limit} {self.counting}{urls}"


def post_problem(rules: TextRules, parts: list[str], images: Sequence[object] | int) -> str | None:
    """What else keeps a fitted post off the network (characters, hashtags, mentions,
    images), if any."""
    for char in rules.refused:
        if any(char in part for part in parts):
            name = unicodedata.name(char, "a non-character")
            return (
                f"the text contains U+{ord(char):04X} ({name}), which the network refuses; "
                "remove it (it is invisible: it often comes with text pasted from elsewhere)"
            )
    if images or rules.needs_image:
        problem = _image_problem(rules, images)
        if problem:
            return problem
    text = " ".join(parts) if rules.max_hashtags or rules.max_mentions else ""
    if rules.max_hashtags is not None:
        count = len(HASHTAG.findall(text))
        if count > rules.max_hashtags:
            return f"{count} hashtags; the network takes at most {rules.max_hashtags}"
    if rules.max_mentions is not None:
        count = len(MENTION.findall(text))
        if count > rules.max_mentions:
            return f"{count} @mentions; the network takes at most {rules.max_mentions}"
    return None


def _image_problem(rules: TextRules, images: Sequence[object] | int) -> str | None:
    count = images if isinstance(images, int) else len(images)
    if rules.needs_image and count == 0:
        return "the network publishes nothing without an image; add images = [...] to the post"
    if rules.max_images is not None and count > rules.max_images:
        return f"{count} images; the network takes at most {rules.max_images}"
    for image in () if isinstance(images, int) else images:
        kind, size = getattr(image, "kind", ""), getattr(image, "size", 0)
        name = getattr(getattr(image, "path", None), "name", "an image")
        if kind and kind not in rules.image_types:
            return (
                f"{name} is a {kind.upper()} image; the network takes "
                f"{', '.join(sorted(t.upper() for t in rules.image_types))}"
            )
        if rules.max_image_bytes is not None and size > rules.max_image_bytes:
            return (
                f"{name} is {size / 1e6:.1f} MB; the network takes images up to "
                f"{rules.max_image_bytes / 1e6:.0f} MB"
            )
    return None

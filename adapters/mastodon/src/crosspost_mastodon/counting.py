"""Mastodon's own counting, as its StatusLengthValidator does it.

A status is counted in graphemes (what a person sees as one character: an emoji with its
skin tone is 1), after two rewrites: every URL counts `characters_reserved_per_url` (23 on
most instances) whatever its length, and a remote mention `@user@domain` counts as `@user`.
The content warning (`spoiler_text`) counts against the same limit. Each instance sets its
own `max_characters` (500 by default; 1,000 or 5,000 on some), read at `verify()`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import regex

from crosspost.adapter import URL, TextRules

_GRAPHEME = regex.compile(r"\X")
# Mastodon's remote mention: @user@domain, where only `@user` is counted.
_REMOTE_MENTION = regex.compile(r"(?<![\w@])(@[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)@[\w.-]+\w")
IMAGE_TYPES = frozenset({"jpeg", "png", "gif", "webp"})
MAX_IMAGE_BYTES = 16 * 1024 * 1024  # Mastodon 4's default image limit


def status_length(text: str, url_length: int = 23) -> int:
    """The length Mastodon counts for `text`."""
    text = unicodedata.normalize("NFC", text)
    text = URL.sub("x" * url_length, text)
    text = _REMOTE_MENTION.sub(r"\1", text)
    return len(_GRAPHEME.findall(text))


def counter(url_length: int = 23, warning: str = "") -> Callable[[str], int]:
    """Mastodon's count for an instance's URL length, with the account's content warning."""
    extra = status_length(warning, url_length) if warning else 0
    return lambda text: status_length(text, url_length) + extra


def rules(
    limit: int = 500, url_length: int = 23, max_images: int = 4, warning: str = ""
) -> TextRules:
    """The text rules of one instance (and of an account's default content warning)."""
    return TextRules(
        limit=limit,
        counting="Mastodon graphemes",
        counter=counter(url_length, warning),
        url_length=url_length,
        threads=True,
        max_images=max_images,
        image_types=IMAGE_TYPES,
        max_image_bytes=MAX_IMAGE_BYTES,
    )


RULES = rules()  # an instance with Mastodon's defaults: 500, URLs 23, 4 images

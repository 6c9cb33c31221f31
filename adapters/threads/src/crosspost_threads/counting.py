"""Threads' own counting, as Meta documents it: a post's text is at most 500 characters,
and an emoji counts as the number of its UTF-8 bytes (a thumbs-up is 4, with a skin tone 8,
a family of four 25). A post may carry at most 5 links, and 20 images in a carousel."""

from __future__ import annotations

import unicodedata

import regex

from crosspost.adapter import TextRules

LIMIT = 500
MAX_LINKS = 5
_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}")


def threads_length(text: str) -> int:
    """Characters, each emoji (with its modifiers and joiners) as its UTF-8 bytes."""
    total = 0
    for grapheme in _GRAPHEME.findall(unicodedata.normalize("NFC", text)):
        total += len(grapheme.encode()) if _EMOJI.search(grapheme) else len(grapheme)
    return total


RULES = TextRules(
    limit=LIMIT,
    counting="Threads (emoji as bytes)",
    counter=threads_length,
    bound=lambda text: len(text.encode()),  # never less than the count
    threads=True,
    max_images=20,
    image_types=frozenset({"jpeg", "png"}),
    max_image_bytes=8 * 1024 * 1024,
)

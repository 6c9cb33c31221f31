"""What a Bluesky post record is made of: its record key, its facets, its embed.

* **Record key.** A post's key is a TID (13 characters of base32-sortable, a 53-bit time in
  microseconds and a 10-bit clock id). crosspost derives it from the delivery's key instead
  of the clock, so a retry of the same delivery names the same record and can never create
  a second post. The time inside is not the post's time (`createdAt` is); the spec says a
  TID's time may be anything and is not to be trusted.
* **Facets** make links, mentions and hashtags work; their offsets are UTF-8 bytes, not
  characters (an "é" before a link moves it by two).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import regex

from crosspost.adapter import HASHTAG, URL

S32 = "234567abcdefghijklmnopqrstuvwxyz"
TID = regex.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
_EPOCH = 1_704_067_200_000_000  # 2024-01-01 in microseconds: derived keys sort after it
_SPAN = 1 << 48  # about 9 years of microseconds
# A handle is a domain name: @alice.bsky.social, @acme.example
MENTION = regex.compile(r"(?<![\w@])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z]{2,})")


def record_key(key: str) -> str:
    """The TID for the delivery `key` (the same key always gives the same TID)."""
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    micros = _EPOCH + (number >> 10) % _SPAN
    value = (micros << 10) | (number & 0x3FF)  # < 2**63: the first character is 2-j
    return "".join(S32[(value >> shift) & 31] for shift in range(60, -1, -5))


def facets(text: str, resolve: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Link, mention and hashtag facets with UTF-8 byte offsets; a mention whose handle
    does not resolve to a DID stays plain text (Bluesky would show it so too)."""
    found: list[dict[str, Any]] = []

    def add(start: int, end: int, feature: dict[str, str]) -> None:
        found.append(
            {
                "index": {
                    "byteStart": len(text[:start].encode()),
                    "byteEnd": len(text[:end].encode()),
                },
                "features": [feature],
            }
        )

    links: list[tuple[int, int]] = []
    for match in URL.finditer(text):
        links.append((match.start(), match.end()))
        add(
            match.start(),
            match.end(),
            {"$type": "app.bsky.richtext.facet#link", "uri": match.group()},
        )

    def inside_link(position: int) -> bool:
        return any(start <= position < end for start, end in links)

    for match in MENTION.finditer(text):
        if inside_link(match.start()):
            continue
        did = resolve(match.group(1).lower())
        if did:
            add(
                match.start(), match.end(), {"$type": "app.bsky.richtext.facet#mention", "did": did}
            )
    for match in HASHTAG.finditer(text):
        tag = match.group()[1:]
        if not inside_link(match.start()) and len(tag) <= 64:
            add(match.start(), match.end(), {"$type": "app.bsky.richtext.facet#tag", "tag": tag})
    return sorted(found, key=lambda facet: facet["index"]["byteStart"])


def external(link: str, title: str, description: str, thumb: Any | None) -> dict[str, Any]:
    """A link card: `app.bsky.embed.external`, with the post's image as its thumbnail."""
    card: dict[str, Any] = {"uri": link, "title": title or link, "description": description}
    if thumb is not None:
        card["thumb"] = thumb
    return {"$type": "app.bsky.embed.external", "external": card}


def images(blobs: list[tuple[Any, str]]) -> dict[str, Any]:
    """`app.bsky.embed.images`: each blob with its alt text."""
    return {
        "$type": "app.bsky.embed.images",
        "images": [{"image": blob, "alt": alt} for blob, alt in blobs],
    }

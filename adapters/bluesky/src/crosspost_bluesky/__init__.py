"""Bluesky for crosspost: posts with facets and link cards, threads, images with alt text,
over the AT Protocol's XRPC with httpx (see README.md for why not the atproto SDK).

The adapter is imported when first asked for, so `crosspost_bluesky.counting` (Bluesky's
text rules, which an outbox may borrow) loads without httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosspost_bluesky.adapter import BlueskyAdapter

__all__ = ["BlueskyAdapter"]


def __getattr__(name: str) -> Any:
    if name == "BlueskyAdapter":
        from crosspost_bluesky.adapter import BlueskyAdapter

        return BlueskyAdapter
    raise AttributeError(f"module 'crosspost_bluesky' has no attribute {name!r}")

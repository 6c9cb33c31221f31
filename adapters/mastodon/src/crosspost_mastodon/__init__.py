"""Mastodon for crosspost, on any instance: Mastodon.py for the API, the instance's own
limits read at `verify()`, an Idempotency-Key on every status, media processed without
blocking anyone.

The adapter is imported when first asked for, so `crosspost_mastodon.counting` (Mastodon's
text rules, which an outbox may borrow) loads without Mastodon.py and requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosspost_mastodon.adapter import MastodonAdapter

__all__ = ["MastodonAdapter"]


def __getattr__(name: str) -> Any:
    if name == "MastodonAdapter":
        from crosspost_mastodon.adapter import MastodonAdapter

        return MastodonAdapter
    raise AttributeError(f"module 'crosspost_mastodon' has no attribute {name!r}")

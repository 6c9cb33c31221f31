"""X (Twitter) for crosspost: tweepy's v2 client for posts and threads, X's v2 media upload
written here (tweepy has none), OAuth 1.0a user tokens or OAuth 2.0 with refresh.

The adapter is imported when first asked for, so `crosspost_x.counting` (X's text rules,
which an outbox may borrow) loads without tweepy and requests (about 8 MB resident).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosspost_x.adapter import XAdapter
    from crosspost_x.session import classify

__all__ = ["XAdapter", "classify"]


def __getattr__(name: str) -> Any:
    if name == "XAdapter":
        from crosspost_x.adapter import XAdapter

        return XAdapter
    if name == "classify":
        from crosspost_x.session import classify

        return classify
    raise AttributeError(f"module 'crosspost_x' has no attribute {name!r}")

"""Threads (Meta's Threads API) for crosspost: a container per post, then `threads_publish`;
replies for threads, carousels, link attachments, and the 60-day token kept alive.

The adapter is imported when first asked for, so `crosspost_threads.counting` (Threads'
text rules, which an outbox may borrow) loads without httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crosspost_threads.adapter import ThreadsAdapter

__all__ = ["ThreadsAdapter"]


def __getattr__(name: str) -> Any:
    if name == "ThreadsAdapter":
        from crosspost_threads.adapter import ThreadsAdapter

        return ThreadsAdapter
    raise AttributeError(f"module 'crosspost_threads' has no attribute {name!r}")

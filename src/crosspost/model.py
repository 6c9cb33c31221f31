"""The words the whole core shares: a delivery's status, and where its content comes from.

A delivery is one occurrence (a calendar entry at one time, or one feed item) to one
account. Its status moves as `README.md` draws it::

    queued ──claim──> sending ──ok──> sent
       ^                 │──a step done (Pending)──> queued, its progress kept, no attempt
       │                 │──transient error──> queued (after a backoff)
       │                 │──permanent or auth error──> failed
       │                 │──the charter forbids it──> held ──`release`──> queued (released)
       │                 └──no answer──> the network is asked: sent | queued | in_doubt
       └── later than catch_up when first seen ──> missed

They are `StrEnum`s: stored as their plain values, equal to them, and printed as them, so
the database, the logs and `history` read the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

RESOLVED_BY_HAND = "resolved by hand"  # starts the reason of one a person settled


class Status(StrEnum):
    QUEUED = "queued"  # waiting for its time (or its retry's)
    SENDING = "sending"  # claimed by a daemon, on its way: only that daemon records it
    SENT = "sent"  # on the network, with its id and URL
    FAILED = "failed"  # will not be retried by itself; the reason says why
    IN_DOUBT = "in_doubt"  # may be on the network, nobody could tell: a person decides
    MISSED = "missed"  # due while no daemon ran, later than catch_up: listed, not sent
    CANCELLED = "cancelled"  # its post was removed, made a draft, or lost that account
    HELD = "held"  # stopped before publishing (the charter): a person releases it or not

    @property
    def settled(self) -> bool:
        """Nothing more happens to it unless a person acts (retry, resolve)."""
        return self not in (Status.QUEUED, Status.SENDING)


class Source(StrEnum):
    CALENDAR = "calendar"  # a [[post]] entry of a calendar file
    FEED = "feed"  # an item of a blog feed (its post id is "feed:<name>")


FEED_PREFIX = "feed:"


def feed_post_id(feed: str) -> str:
    """The post id every delivery of one feed shares."""
    return FEED_PREFIX + feed


def feed_name(post_id: str) -> str:
    return post_id.removeprefix(FEED_PREFIX)


@dataclass(frozen=True)
class Occurrence:
    """What is due: one post (a calendar entry at one time, or one feed item) for one
    account, from one source. Both sources produce these, and `store.add_occurrences` is the
    one place they become deliveries, so a delivery's key is made in one place too.

    `occurrence` names the time within the post ("once", or the ISO time of a recurring
    one) or the feed item (a hash of its identity). `content` is what a source cannot
    rebuild later (a feed item; the calendar is read again at send time). `missed` says why
    it will not be sent, when it came later than `catch_up`.
    """

    source: Source
    post_id: str
    occurrence: str
    account: str
    due: datetime
    content: dict[str, Any] | None = None
    missed: str | None = None

    @property
    def key(self) -> str:
        return f"{self.post_id}|{self.occurrence}|{self.account}"

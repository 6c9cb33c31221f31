"""What a network says about a published post: the data half of the `Measures` capability.

Each number is what the network reported, or None when it reported nothing for it (a
network without saves, a permission not granted): a missing number is never a zero, so a
report can say "not given" instead of making a post look like it did badly. A thread's parts
add up to one post (`total`): a sum is missing only when every part's number is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

FIELDS = ("likes", "reposts", "replies", "impressions", "saves", "clicks")
LABELS = {
    "likes": "likes/reactions",
    "reposts": "reposts/shares",
    "replies": "replies/comments",
    "impressions": "impressions/views",
    "saves": "saves",
    "clicks": "link clicks",
}


@dataclass(frozen=True)
class Engagement:
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    impressions: int | None = None
    saves: int | None = None
    clicks: int | None = None

    def values(self) -> dict[str, int | None]:
        return dict(zip(FIELDS, self.numbers(), strict=True))

    def numbers(self) -> tuple[int | None, ...]:
        """The numbers in the order of FIELDS."""
        return (self.likes, self.reposts, self.replies, self.impressions, self.saves, self.clicks)

    @property
    def interactions(self) -> int | None:
        """Likes, reposts, replies, saves and clicks together (impressions are not an
        interaction); None when the network gave none of them."""
        given = [v for v in (self.likes, self.reposts, self.replies, self.saves, self.clicks)
                 if v is not None]  # fmt: skip
        return sum(given) if given else None

    def __add__(self, other: Engagement) -> Engagement:
        return Engagement(*map(add, self.numbers(), other.numbers()))


def add(a: int | None, b: int | None) -> int | None:
    """A sum that stays missing only when both are."""
    if a is None:
        return b
    return a if b is None else a + b


def total(parts: Iterable[Engagement]) -> Engagement:
    """The parts of a thread as one post."""
    result = Engagement()
    for part in parts:
        result = result + part
    return result


def number(value: object) -> int | None:
    """An API's count as an int, or None when it is absent or not a count."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None

"""Faults a stand-in network injects into the requests that publish, and what it accepted.

A real network fails in a handful of ways, and the daemon's promise (nothing lost, nothing
posted twice) rests on telling them apart:

* ``error``: a 5xx; nothing was stored; an ordinary retry;
* ``rate_limit``: a 429 (or the network's own equivalent) with its reset time; nothing
  was stored; no request may come before the reset (the ledger counts any that do);
* ``slow``: the post is stored and the answer comes after the client gave up;
* ``reset``: the connection is reset before a byte of the answer; nothing was stored;
* ``lost``: the post is stored and the connection closed with no answer at all.

The plan is seeded, so any run can be replayed from its printed seed, and faults can also be
placed by ordinal (the n-th publishing request). The `Ledger` is the network's memory: every
post it accepted, with its id and text, which a test compares with crosspost's deliveries.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("error", "rate_limit", "slow", "reset", "lost")


@dataclass
class FaultPlan:
    """Which publishing requests fail, and how."""

    rate: float = 0.0  # the share of publishing requests that get a fault
    seed: int = 0
    kinds: tuple[str, ...] = KINDS
    at: dict[int, str] = field(default_factory=dict)  # ordinal (from 1) -> kind, always
    slow_seconds: float = 1.5  # how late a `slow` answer comes (past the client's timeout)
    rate_limit_seconds: int = 2  # how long a rate limit lasts

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._count = 0
        self._lock = threading.Lock()

    def draw(self) -> tuple[int, str | None]:
        """The next publishing request's ordinal and fault (None: answered normally)."""
        with self._lock:
            self._count += 1
            ordinal = self._count
            if ordinal in self.at:
                return ordinal, self.at[ordinal]
            faulted = self._random.random() < self.rate
            return ordinal, self._random.choice(self.kinds) if faulted else None


@dataclass(frozen=True)
class Accepted:
    """One post the network stored."""

    remote_id: str
    text: str
    at: float  # the stand-in's clock
    fault: str | None  # what happened to the answer, if anything


@dataclass
class Ledger:
    """What the network holds, and how it was asked."""

    accepted: list[Accepted] = field(default_factory=list)
    faults: list[tuple[int, str, str]] = field(default_factory=list)  # ordinal, kind, path
    early: list[tuple[int, float, float]] = field(default_factory=list)  # before a reset
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def accept(self, remote_id: str, text: str, at: float, request: dict[str, Any]) -> None:
        with self.lock:
            self.accepted.append(Accepted(remote_id, text, at, request.get("fault")))

    def copies(self, text: str) -> list[Accepted]:
        """The stored posts with this text (a post published twice has two)."""
        return [post for post in self.accepted if post.text == text]

    def by_id(self, remote_id: str) -> Accepted | None:
        return next((post for post in self.accepted if post.remote_id == remote_id), None)

    def report(self, texts: list[str] | None = None) -> str:
        """A readable account of the faults and the stored posts (those with `texts`)."""
        lines = [f"faults injected: {len(self.faults)}; requests before a reset: {self.early}"]
        for post in self.accepted:
            if texts is None or post.text in texts:
                lines.append(
                    f"  stored {post.remote_id} ({post.fault or 'answered'}): {post.text!r}"
                )
        return "\n".join(lines)

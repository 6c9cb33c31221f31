"""Lanes: publishes in flight, one per account, a bounded number at once.

With one serial dispatcher, a network that answers slowly (or hangs until its timeout, or
waits for Instagram to fetch an image) delayed every other account. Each account now has
its own lane: its deliveries still go out one at a time and in order (a thread's parts,
then the next post), while other accounts' go out beside it, at most `[daemon] lanes` at
once. A lane is a daemon thread per publish, so a publish that hangs past shutdown cannot
keep the process from exiting (the stop then settles it, see `Dispatcher.abandon`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol

from crosspost import logs, store
from crosspost.timeutil import Clock

log = logs.get("crosspost.lanes")


class Claim(Protocol):
    """Take up to `n` due deliveries of accounts not `busy` (or only of account `only`)."""

    def __call__(self, busy: set[str], n: int, only: str | None = None) -> list[store.Delivery]: ...


@dataclass(frozen=True)
class InFlight:
    delivery: store.Delivery
    started: datetime


class Lanes:
    def __init__(self, size: int, on_done: Callable[[], object] = lambda: None) -> None:
        self.size = size
        self.on_done = on_done  # the daemon's wake-up: the account's next delivery may go
        self._flights: dict[str, InFlight] = {}
        self._changed = threading.Condition()

    def busy(self) -> set[str]:
        """The accounts with a publish in flight: nothing else of theirs may be claimed."""
        with self._changed:
            return set(self._flights)

    def flights(self) -> list[InFlight]:
        with self._changed:
            return list(self._flights.values())

    def start(self, flight: InFlight, work: Callable[[], object]) -> None:
        account = flight.delivery.account
        with self._changed:
            assert account not in self._flights, f"{account} already has a publish in flight"
            self._flights[account] = flight
        name = f"lane-{account}"
        threading.Thread(target=self._run, args=(account, work), name=name, daemon=True).start()

    def run(
        self,
        claim: Claim,
        publish: Callable[[store.Delivery], object],
        stop: threading.Event,
        recover: Callable[[], object],
        wait: bool,
        clock: Clock,
    ) -> int:
        """Hand every due delivery to its account's lane, until none is left or we must
        stop; before each claim, `recover` settles claims a dead daemon left. With `wait`
        (`run --once`, the tests), return only when every lane is done and nothing is left;
        without (the daemon), return at once: a finished lane wakes the daemon again."""
        handled = 0
        while not stop.is_set():
            busy = self.busy()  # before the claim: a lane may finish during it
            if len(busy) < self.size:
                recover()
                taken = claim(busy, self.size - len(busy))
                for delivery in taken:
                    work = partial(self._lane, claim, publish, delivery, stop, clock)
                    self.start(InFlight(delivery, clock()), work)
                handled += len(taken)
                if taken:
                    continue
            if not wait or not busy:
                break
            self.wait_for_change(busy, 1.0)
        return handled

    def _lane(
        self,
        claim: Claim,
        publish: Callable[[store.Delivery], object],
        delivery: store.Delivery,
        stop: threading.Event,
        clock: Clock,
    ) -> None:
        """An account's lane: publish, then take the account's next due delivery at once
        (no round trip through the worker), until none is due or we must stop."""
        while True:
            publish(delivery)
            if stop.is_set():
                return
            taken = claim(set(), 1, delivery.account)
            if not taken:
                return
            delivery = taken[0]
            self.advance(InFlight(delivery, clock()))

    def advance(self, flight: InFlight) -> None:
        """The lane goes on with its account's next delivery."""
        with self._changed:
            self._flights[flight.delivery.account] = flight

    def _run(self, account: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:  # the dispatcher records every outcome; this is a bug's last net
            log.exception("publish crashed", account=account)
        finally:
            with self._changed:
                del self._flights[account]
                self._changed.notify_all()
            self.on_done()

    def wait_for_change(self, busy: set[str], timeout: float) -> None:
        """Until the accounts in flight are no longer `busy` (or `timeout` seconds pass)."""
        with self._changed:
            self._changed.wait_for(lambda: set(self._flights) != busy, timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Until nothing is in flight; False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._flights, timeout)

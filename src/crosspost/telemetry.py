"""What happens while publishing, counted for the metrics endpoint.

The delivery code calls `meter` where things happen (a publish returned, a retry was
planned, a feed answered); by default it counts nothing. `[daemon] metrics` replaces it
with the Prometheus meter of `crosspost.service.metrics`, so prometheus_client is imported
only by a daemon that serves metrics, and the delivery code never imports it.
"""

from __future__ import annotations


class Meter:
    """Counts nothing: the daemon without `[daemon] metrics`, the commands, the tests."""

    def published(self, account: str, seconds: float, lag: float) -> None:
        """A post is on the network: how long the network took, how late after its time."""

    def outcome(self, account: str, status: str) -> None:
        """A publish attempt ended in `status` (queued again means a retry is planned)."""

    def rate_limited(self, account: str) -> None:
        """The network said to slow down."""

    def feed_polled(self, feed: str, ok: bool) -> None:
        """A feed answered (`ok`) or failed."""


meter = Meter()


def install(new: Meter) -> None:
    """Count with `new` from now on (the daemon, when it serves metrics)."""
    global meter
    meter = new

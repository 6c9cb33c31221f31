"""`[daemon] metrics = "127.0.0.1:9464"`: a Prometheus text endpoint, through prometheus_client.

Two kinds of numbers: what the database says at scrape time (deliveries by status and
account, paused accounts, failing feeds, unsent alerts, the last heartbeat), which every
daemon sharing a database reports alike; and what this process counted since it started
(publish latency, lag after the due time, outcomes, rate limits, feed polls), through the
`telemetry` meter the delivery code calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from crosspost import store, telemetry
from crosspost.store.tables import ACCOUNTS, ALERTS, BEATS, FeedState

LATENCY = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)  # seconds a network takes to take a post
LAG = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 86400)  # seconds after the due time


class PrometheusMeter(telemetry.Meter):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.latency = Histogram(
            "crosspost_publish_seconds",
            "Time the network took to take a post",
            ["account"],
            buckets=LATENCY,
            registry=registry,
        )
        self.lag = Histogram(
            "crosspost_publish_lag_seconds",
            "Time from a post's due time to its publication",
            ["account"],
            buckets=LAG,
            registry=registry,
        )
        self.outcomes = Counter(
            "crosspost_publish_outcomes",
            "Publish attempts by what they ended in (queued: a retry is planned)",
            ["account", "status"],
            registry=registry,
        )
        self.limits = Counter(
            "crosspost_rate_limited",
            "Rate limits the networks answered",
            ["account"],
            registry=registry,
        )
        self.polls = Counter(
            "crosspost_feed_polls", "Feed polls by result", ["feed", "result"], registry=registry
        )

    def published(self, account: str, seconds: float, lag: float) -> None:
        self.latency.labels(account).observe(seconds)
        self.lag.labels(account).observe(max(lag, 0.0))

    def outcome(self, account: str, status: str) -> None:
        self.outcomes.labels(account, str(status)).inc()

    def rate_limited(self, account: str) -> None:
        self.limits.labels(account).inc()

    def feed_polled(self, feed: str, ok: bool) -> None:
        self.polls.labels(feed, "ok" if ok else "failed").inc()


class StateCollector(Collector):
    """The database's numbers, read at each scrape (a few grouped counts)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Any]:
        c = store.columns
        deliveries = GaugeMetricFamily(
            "crosspost_deliveries",
            "Deliveries in the database by status and account",
            labels=["status", "account"],
        )
        paused = GaugeMetricFamily(
            "crosspost_account_paused", "1 while an account is paused", labels=["account"]
        )
        failing = GaugeMetricFamily(
            "crosspost_feed_failures", "Failed polls in a row, per feed", labels=["feed"]
        )
        with self.engine.connect() as conn:
            counts = conn.execute(
                select(c.status, c.account, func.count()).group_by(c.status, c.account)
            ).all()
            names = conn.execute(select(ACCOUNTS.c.name, ACCOUNTS.c.paused_reason)).all()
            feeds = conn.execute(select(FeedState.name, FeedState.failures)).all()  # type: ignore[call-overload]
            beat = conn.scalar(select(func.max(BEATS.c.beat_at)))
            unsent = conn.scalar(
                select(func.count())
                .select_from(ALERTS)
                .where(ALERTS.c.sent_at.is_(None), ALERTS.c.last_error.is_not(None))
            )
        for status, account, count in counts:
            deliveries.add_metric([str(status), str(account)], float(count))
        for name, reason in names:
            paused.add_metric([str(name)], 1.0 if reason else 0.0)
        for name, failures in feeds:
            failing.add_metric([str(name)], float(failures))
        yield from (deliveries, paused, failing)
        yield GaugeMetricFamily(
            "crosspost_heartbeat_timestamp_seconds",
            "When a daemon of this database last beat (Unix time)",
            value=beat.timestamp() if beat else 0.0,
        )
        yield GaugeMetricFamily(
            "crosspost_alerts_unsent",
            "Alerts that failed to send and wait for a retry or were given up",
            value=float(unsent or 0),
        )


def serve(address: tuple[str, int], engine: Engine) -> Callable[[], None]:
    """Serve the metrics at http://HOST:PORT/metrics from a thread of its own, count this
    process's events from now on; returns what stops the server. OSError when the address
    cannot be bound (in use, or not this machine's)."""
    registry = CollectorRegistry()
    registry.register(StateCollector(engine))
    meter = PrometheusMeter(registry)
    server, _thread = start_http_server(address[1], address[0], registry=registry)
    telemetry.install(meter)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        telemetry.install(telemetry.Meter())

    return stop

"""The alert worker: look at the state, write new events, send what is due, grouped.

It runs as its own job on the daemon's scheduler (its own thread, never a publishing lane),
every 15 seconds and soon after each tick that changed something, so a post that fails is
told within seconds and a burst (the network is down: 40 posts fail at once) arrives as
one message per target. A target that does not answer waits for its retries; the other
targets and the publishing go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from crosspost import logs, store
from crosspost.alerts import events, outbox
from crosspost.alerts.events import Event
from crosspost.alerts.send import send
from crosspost.config.problems import Problem
from crosspost.service.assembly import Setup
from crosspost.store.tables import AlertRow
from crosspost.timeutil import Clock

log = logs.get("crosspost.alerts")
FIRST_LOOK = timedelta(hours=24)  # alerts just configured: what happened in the last day
OVERLAP = timedelta(minutes=10)  # rows stamped before a slow commit are still looked at
DETAILED = 20  # alerts written out in one message; the rest are counted


class AlertWorker:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        setup: Callable[[], Setup],
        tokens: Callable[[], list[Problem]] = list,
        sender: Callable[..., str] = send,
    ) -> None:
        self.engine, self.clock, self.setup, self.tokens = engine, clock, setup, tokens
        self.sender = sender

    def routes(self) -> dict[str, set[str]]:
        """Target -> the events it wants, for targets whose URL is usable."""
        setup = self.setup()
        targets = setup.config.alerts.targets
        return {name: set(t.events) for name, t in targets.items() if name in setup.alert_urls}

    def note(self, found: Sequence[Event]) -> int:
        """Write events found elsewhere (a crash seen at start, the digest)."""
        routes = self.routes()
        return outbox.record(self.engine, found, routes, self.clock()) if routes else 0

    def look(self) -> int:
        """Write the events the state shows since the last look; returns how many are new."""
        routes, now = self.routes(), self.clock()
        if not routes:
            return 0
        seen = store.get_meta(self.engine, outbox.WATERMARK)
        since = max(datetime.fromisoformat(seen) if seen else now, now - FIRST_LOOK) - OVERLAP
        zone = self.setup().config.zone
        found = [
            *events.deliveries(self.engine, since, zone),
            *events.paused(self.engine),
            *events.numbers_refused(self.engine),
            *events.feeds(self.engine),
            *events.tokens(self.tokens()),
        ]
        new = outbox.record(self.engine, found, routes, now)
        store.set_meta(self.engine, outbox.WATERMARK, now.isoformat())
        return new

    def cycle(self) -> int:
        """One look and one round of sends; returns the alerts sent. Never raises: an
        error is logged and the next cycle tries again."""
        try:
            self.look()
            return self.send_due()
        except Exception:
            log.exception("alert cycle failed; trying again at the next one")
            return 0

    def send_due(self) -> int:
        setup, total = self.setup(), 0
        for target, url in setup.alert_urls.items():
            rows = outbox.claim(self.engine, target, self.clock())
            if not rows:
                continue
            title, body = group(rows)
            files = [row.attachment for row in rows if row.attachment]
            error = (
                self.sender(url, title, body, attach=files)
                if files
                else self.sender(url, title, body)
            )
            now = self.clock()
            if not error:
                outbox.sent(self.engine, rows, now)
                log.info("alert sent", target=target, alerts=len(rows), title=title)
                total += len(rows)
                continue
            given_up = outbox.not_sent(self.engine, rows, error, now)
            for row in given_up:
                log.error("alert given up after its retries", target=target, reason=error,
                          title=row.title, body=row.body)  # fmt: skip
            if len(given_up) < len(rows):
                log.warning("alert not sent; it is tried again", target=target, reason=error,
                            alerts=len(rows) - len(given_up))  # fmt: skip
        return total

    def next_try(self) -> datetime | None:
        return outbox.next_try(self.engine)


def group(rows: Sequence[AlertRow]) -> tuple[str, str]:
    """One message for a target's due alerts: one alert as it is, several under one title
    with each written out (the first `DETAILED`; the rest counted)."""
    if len(rows) == 1:
        return rows[0].title, rows[0].body
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row.kind] = kinds.get(row.kind, 0) + 1
    summary = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in kinds.items())
    parts = [f"### {row.title}\n\n{row.body}" for row in rows[:DETAILED]]
    if len(rows) > DETAILED:
        parts.append(
            f"…and {len(rows) - DETAILED} more: `crosspost status` and "
            "`crosspost history` list them."
        )
    return f"crosspost: {len(rows)} alerts ({summary})", "\n\n---\n\n".join(parts)

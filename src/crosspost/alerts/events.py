"""What deserves an alert, found in the database's state rather than reported by the code
that changed it: a delivery failed, in doubt, missed or held, an account paused, a feed
failing or back. A crash between the change and its alert loses nothing (the next look
finds the state), and each event has a key made of what it is about and when it happened,
so looking again (after a reload, a retry, in another daemon) finds the same event, not a
new one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import Session

from crosspost import store
from crosspost.config.problems import Problem
from crosspost.model import FEED_PREFIX, RESOLVED_BY_HAND, Status
from crosspost.store import heartbeat
from crosspost.store.tables import ALERTS, META, AccountState, DaemonBeat, FeedState

FEED_FAILING_AFTER = 3  # polls in a row: one timeout is not worth a message
WATCHED = (Status.FAILED, Status.IN_DOUBT, Status.MISSED, Status.HELD)


@dataclass(frozen=True)
class Event:
    kind: str  # one of `config.alerts.EVENTS`
    key: str  # the same event always has the same key
    title: str  # one line: what happened, to what
    body: str  # why, and the command that fixes it (Markdown)
    attachment: str = ""  # a file sent with it, where the service takes one (the report)


def deliveries(engine: Engine, since: datetime, zone: ZoneInfo) -> list[Event]:
    """Deliveries that reached a state a person must act on, since `since`; and those sent
    with a warning (a first comment that may be missing, a text the network changed)."""
    c = store.columns
    rows = store.deliveries(engine, c.status.in_(WATCHED), c.updated_at >= since)
    warned = store.deliveries(
        engine,
        c.status == Status.SENT,
        c.reason.is_not(None),
        c.reason.not_like(RESOLVED_BY_HAND + "%"),
        c.updated_at >= since,
    )
    return [_delivery_event(row, zone) for row in rows] + [_warning(row) for row in warned]


def _warning(row: store.Delivery) -> Event:
    post, account = post_name(row), row.account
    body = (f"Delivery {row.id} went out, but something is not as planned.\n\n"
            f"**Why:** {row.reason}\n\n**Fix:** look at the post on {account} and finish it by "
            "hand if needed; crosspost sends nothing of it again, so nothing comes twice."
            + (f"\n\n{row.remote_url}" if row.remote_url else ""))  # fmt: skip
    key = f"warning:{row.id}:{row.updated_at.isoformat()}"
    return Event("warning", key, f"Published, but look: {post} → {account}", body)


def _delivery_event(row: store.Delivery, zone: ZoneInfo) -> Event:
    post, account, ident = post_name(row), row.account, row.id
    due = f"{row.due_at.astimezone(zone):%Y-%m-%d %H:%M}"
    why = row.reason or "no reason recorded"
    link = row.remote_url or _link(row)
    if row.status == Status.FAILED:
        fix = f"`crosspost retry {ident}` once the cause is fixed"
        if "account paused" in why:
            fix = f"`crosspost auth {account}`, then `crosspost retry {ident}`"
        title = f"Not published: {post} → {account}"
        what = f"Delivery {ident} (due {due}) failed and will not be tried again by itself."
    elif row.status == Status.IN_DOUBT:
        fix = (
            f"look on {account}'s profile; then `crosspost resolve {ident} --sent URL` "
            f"or `crosspost resolve {ident} --not-sent`"
        )
        title = f"Maybe published, maybe not: {post} → {account}"
        what = f"Delivery {ident} (due {due}): nobody could tell whether it went out."
    elif row.status == Status.MISSED:
        fix = f"`crosspost retry {ident}` sends it now; nothing to do if it is too late"
        title = f"Missed: {post} → {account}"
        what = f"Delivery {ident} was due {due}, while no daemon ran; it was not sent."
    else:
        fix = (f"edit the post, then `crosspost retry {ident}` (checked again), or "
               f"`crosspost release {ident}` to send it as it is")  # fmt: skip
        if why.startswith("awaits approval"):
            fix = f"`crosspost pending`, then `crosspost approve {row.post_id} --as NAME`"
        title = f"Held: {post} → {account}"
        what = f"Delivery {ident} (due {due}) was stopped before publishing."
    body = f"{what}\n\n**Why:** {why}\n\n**Fix:** {fix}" + (f"\n\n{link}" if link else "")
    return Event(str(row.status), f"{row.status}:{ident}:{row.updated_at.isoformat()}", title, body)


def post_name(row: store.Delivery) -> str:
    if not row.post_id.startswith(FEED_PREFIX):
        return row.post_id
    title = json.loads(row.payload or "{}").get("title", "")
    feed = row.post_id.removeprefix(FEED_PREFIX)
    return f"{feed} feed: {title}" if title else f"{feed} feed item"


def _link(row: store.Delivery) -> str:
    return str(json.loads(row.payload or "{}").get("link", "")) if row.payload else ""


def paused(engine: Engine) -> list[Event]:
    with Session(engine) as session:
        rows = session.scalars(select(AccountState)).all()
    return [
        Event(
            "paused",
            f"paused:{row.name}:{row.paused_at.isoformat() if row.paused_at else ''}",
            f"Account paused: {row.name}",
            f"Nothing is published to {row.name} until its credentials work again.\n\n"
            f"**Why:** {row.paused_reason}\n\n**Fix:** `crosspost auth {row.name}` (or fix "
            "its secrets); it resumes by itself once they verify.",
        )
        for row in rows
        if row.paused_reason
    ]


def numbers_refused(engine: Engine) -> list[Event]:
    """A network that refuses to give its numbers (as the collector recorded it): once per
    account and reason, a `warning`, since the reports will lack them until a person acts."""
    prefix = "measures:refused:"
    with engine.connect() as conn:
        rows = conn.execute(select(META.c.key, META.c.value).where(META.c.key.like(prefix + "%")))
        refused = [(key.removeprefix(prefix), value) for key, value in rows if value]
    return [
        Event(
            "warning",
            f"measures:{account}:{hashlib.sha256(why.encode()).hexdigest()[:16]}",
            f"No numbers from {account} for the reports",
            f"{account}'s network refuses to say how its posts did, so `crosspost report` "
            f"shows them as missing. Publishing is not affected.\n\n**Why:** {why}\n\n"
            f"**Fix:** give the app the permission its adapter's README names for the "
            f"numbers, then `crosspost auth {account}`; they are asked for again once a day.",
        )
        for account, why in refused
    ]


def feeds(engine: Engine) -> list[Event]:
    """A feed failing 3 polls in a row (once per failing streak), and its recovery (only
    for a streak that was reported)."""
    with Session(engine) as session:
        states = session.scalars(select(FeedState)).all()
    with engine.connect() as conn:
        known = set(conn.scalars(select(ALERTS.c.key).where(ALERTS.c.kind.like("feed_%"))))
    found = []
    for state in states:
        if state.failures >= FEED_FAILING_AFTER:
            streak = state.last_success.isoformat() if state.last_success else "never"
            since = f"since {state.last_success:%Y-%m-%d %H:%M} UTC" if state.last_success else ""
            found.append(
                Event(
                    "feed_failing",
                    f"feed_failing:{state.name}:{streak}",
                    f"Feed failing: {state.name}",
                    f"The last {state.failures} polls of {state.url} failed; no new article "
                    f"is published {since or 'ever'}.\n\n**Why:** {state.last_error}\n\n"
                    "**Fix:** `crosspost feeds` shows its health; check the blog is up and the "
                    "feed's url in the config.",
                )
            )
            continue
        for key in sorted(k for k in known if k.startswith(f"feed_failing:{state.name}:")):
            back = key.replace("feed_failing:", "feed_recovered:", 1)
            if state.failures == 0 and back not in known:
                found.append(
                    Event(
                        "feed_recovered",
                        back,
                        f"Feed recovered: {state.name}",
                        f"{state.url} answers again; its new articles are published as planned.",
                    )
                )
    return found


def tokens(problems: list[Problem]) -> list[Event]:
    """Token expiry problems (see `Runtime.check_tokens`): one alert per token and date."""
    found = []
    for problem in problems:
        account = problem.key.split(".")[1] if problem.key.count(".") >= 1 else problem.key
        kind = "token_expired" if problem.severity == "error" else "token_expiring"
        date = re.search(r"\d{4}-\d{2}-\d{2}", problem.message)
        title = f"Token {'expired' if kind == 'token_expired' else 'expires soon'}: {account}"
        body = f"{problem.message}\n\n**Fix:** `crosspost auth {account}`"
        found.append(Event(kind, f"{kind}:{account}:{date.group() if date else ''}", title, body))
    return found


def crashes(engine: Engine, now: datetime, me: DaemonBeat) -> list[Event]:
    """Daemons that died without a clean stop in the last day, seen as this one starts:
    on this host one that no longer runs (or had our pid before us), anywhere one that
    stopped beating."""
    found = []
    for row in heartbeat.daemons(engine):
        if row.stopped_at is not None or now - row.beat_at > timedelta(days=1):
            continue
        reused = row.worker == me.worker and row.started_at != me.started_at
        if not reused and heartbeat.is_alive(row, now, me.host):
            continue
        found.append(
            Event(
                "crashed",
                f"crashed:{row.worker}:{row.started_at.isoformat()}",
                f"crosspost restarted after a crash ({row.host})",
                f"The daemon {row.worker} stopped at {row.beat_at:%Y-%m-%d %H:%M:%S} UTC without "
                f"a clean stop; {me.worker} started and settles what it left in flight (each "
                "is looked up on the network before anything is sent again).\n\n**Fix:** read "
                "its last log lines: `journalctl -u crosspost -n 100`; `crosspost status` says "
                "whether anything needs a person.",
            )
        )
    return found

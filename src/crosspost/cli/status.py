"""`crosspost status`: is a daemon publishing, and does anything need a person?

One look for the person in charge, and one exit code for monitoring: 0 healthy, 1 needs
attention (failures or doubts in the last 24 hours, a paused account, a token that runs out
within 7 days, a failing feed, deliveries late), 2 no daemon alive. `--json` gives the same
facts to a script. It reads the database and the secrets file, never a network.
"""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select
from sqlmodel import Session

from crosspost import store
from crosspost.alerts import outbox
from crosspost.cli.terminal import table
from crosspost.config.secrets import EXPIRES, WARN_BEFORE, load_secrets
from crosspost.config.settings import Config
from crosspost.model import RESOLVED_BY_HAND, Status
from crosspost.store import heartbeat
from crosspost.store.tables import ACCOUNTS, FeedState

HEALTHY, ATTENTION, NO_DAEMON = 0, 1, 2
STATES = {HEALTHY: "healthy", ATTENTION: "attention", NO_DAEMON: "no_daemon"}
LATE_AFTER = timedelta(minutes=10)  # due this long ago and still queued: nothing sends it
RECENT = timedelta(hours=24)
COUNTED = (Status.SENT, Status.FAILED, Status.IN_DOUBT, Status.MISSED, Status.HELD)


def gather(config: Config, engine: Engine, now: datetime) -> dict[str, Any]:
    """Every fact `status` shows, as plain data (what `--json` prints)."""
    c = store.columns
    recent = _count(engine, c.updated_at >= now - RECENT)
    waiting = _count(engine, c.status.in_((Status.QUEUED, Status.SENDING)))
    paused = store.paused_accounts(engine)
    queued = sorted(store.deliveries(engine, c.status == Status.QUEUED),
                    key=lambda d: d.next_attempt_at)  # fmt: skip
    with engine.connect() as conn:
        held = dict(
            conn.execute(
                select(ACCOUNTS.c.name, ACCOUNTS.c.hold_until).where(ACCOUNTS.c.hold_until > now)
            )
            .tuples()
            .all()
        )
    with Session(engine) as session:
        feeds = session.scalars(select(FeedState).where(FeedState.failures > 0)).all()  # type: ignore[arg-type]
    settled = c.reason.like(RESOLVED_BY_HAND + "%")
    warned = store.deliveries(engine, c.status == Status.SENT, c.updated_at >= now - RECENT,
                              c.reason.is_not(None), ~settled)  # fmt: skip
    waits = set(paused) | set(held)  # their posts wait on purpose
    late = [
        d.id for d in queued if d.next_attempt_at <= now - LATE_AFTER and d.account not in waits
    ]
    return {
        "daemons": _daemons(engine, now),
        "last_24h": {status.value: recent.get(status, 0) for status in COUNTED},
        "queued": waiting.get(Status.QUEUED, 0),
        "sending": waiting.get(Status.SENDING, 0),
        "late": late,
        "sent_with_warning": [
            {
                "id": d.id,
                "post": d.post_id,
                "account": d.account,
                "warning": d.reason,
                "url": d.remote_url,
            }
            for d in warned
        ],
        "paused": paused,
        "held": held,
        "tokens": _tokens(config, engine, now),
        "feeds_failing": [
            {
                "feed": f.name,
                "failures": f.failures,
                "error": f.last_error,
                "last_success": f.last_success,
            }
            for f in feeds
        ],
        "next": _next_due(config, now),
        "alerts_unsent": [
            {
                "target": a.target,
                "title": a.title,
                "error": a.last_error,
                "given_up": a.gave_up_at is not None,
            }
            for a in outbox.undelivered(engine, now - RECENT)
        ],
    }


def _next_due(config: Config, now: datetime) -> list[dict[str, Any]]:
    """The next 5 posts the calendar plans (a calendar that does not load: none; `check`
    says why)."""
    from crosspost.sources.calendar_load import load_calendar

    try:
        calendar = load_calendar(config, None)
    except Exception:
        return []
    planned = calendar.upcoming(now, now + timedelta(days=366), config.zone)
    return [{"due": due, "post": post.id, "accounts": list(post.accounts)}
            for due, _key, post in planned[:5]]  # fmt: skip


def _count(engine: Engine, where: Any) -> dict[str, int]:
    c = store.columns
    with engine.connect() as conn:
        rows = conn.execute(select(c.status, func.count()).where(where).group_by(c.status))
        return {str(status): int(count) for status, count in rows.all()}


def _daemons(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    this_host = socket.gethostname()
    return [
        {"worker": d.worker, "started_at": d.started_at, "beat_at": d.beat_at,
         "stopped_at": d.stopped_at, "alive": heartbeat.is_alive(d, now, this_host)}
        for d in heartbeat.daemons(engine)
    ]  # fmt: skip


def _tokens(config: Config, engine: Engine, now: datetime) -> list[dict[str, Any]]:
    """Tokens that run out within 7 days: the secrets file's dates, except where the
    daemon renewed a credential itself and recorded when the renewed one runs out."""
    kept = {name: store.get_meta(engine, store.KEPT_EXPIRY + name) for name in config.accounts}
    found = []
    try:
        _, problems = load_secrets(config.secrets_path(), now)
    except Exception:  # unreadable here (a systemd credential): the daemon's log says
        problems = []
    for problem in problems:
        account = problem.key.split(".")[1] if problem.key.startswith("accounts.") else ""
        if problem.key.endswith(EXPIRES) and not kept.get(account):
            found.append({"account": account, "problem": problem.message})
    for name, until in kept.items():
        if until and datetime.fromisoformat(until) - now <= WARN_BEFORE:
            verb = "expired on" if datetime.fromisoformat(until) <= now else "expires on"
            found.append({"account": name, "problem": f"its credentials {verb} {until[:10]}"})
    return found


def attention(facts: dict[str, Any]) -> list[str]:
    """What needs a person, each with the command that helps."""
    recent, items = facts["last_24h"], []
    if recent["failed"]:
        items.append(f"{recent['failed']} failed in the last 24 h: "
                     "crosspost history --status failed, then crosspost retry ID")  # fmt: skip
    if recent["in_doubt"]:
        items.append(f"{recent['in_doubt']} in doubt: crosspost history --status in_doubt, "
                     "look on the network, then crosspost resolve ID")  # fmt: skip
    if recent["held"]:
        items.append(f"{recent['held']} held by the charter: crosspost history --status held, "
                     "then edit the post or crosspost release ID")  # fmt: skip
    if warned := facts["sent_with_warning"]:
        items.append(f"{len(warned)} sent with a warning in the last 24 h "
                     f"({warned[-1]['warning']}): crosspost history --status sent, "
                     "then look at the post on its network")  # fmt: skip
    for name, reason in facts["paused"].items():
        items.append(f"account {name} is paused ({reason}): crosspost auth {name}")
    for token in facts["tokens"]:
        items.append(f"account {token['account']}: {token['problem']}")
    for feed in facts["feeds_failing"]:
        items.append(f"feed {feed['feed']} failing ({feed['failures']} times: "
                     f"{feed['error']}): crosspost feeds")  # fmt: skip
    unsent: dict[str, list[dict[str, Any]]] = {}
    for alert in facts["alerts_unsent"]:
        unsent.setdefault(alert["target"], []).append(alert)
    for target, alerts in unsent.items():
        items.append(f"{len(alerts)} alert(s) not sent to {target} ({alerts[-1]['error']}): "
                     "fix its URL, then crosspost alerts test")  # fmt: skip
    if facts["late"]:
        items.append(f"{len(facts['late'])} due over 10 minutes ago and still queued "
                     "(is the daemon publishing? see its log)")  # fmt: skip
    return items


def show(config: Config, engine: Engine, now: datetime, as_json: bool) -> int:
    facts = gather(config, engine, now)
    needs = attention(facts)
    alive = [d for d in facts["daemons"] if d["alive"]]
    code = NO_DAEMON if not alive else ATTENTION if needs else HEALTHY
    if as_json:
        found = {"state": STATES[code], "exit": code, "attention": needs, **facts}
        print(json.dumps(found, default=_plain, indent=2))
        return code

    def when(value: datetime | None) -> str:
        return value.astimezone(config.zone).strftime("%Y-%m-%d %H:%M:%S") if value else "-"

    for d in alive:
        ago = int((now - d["beat_at"]).total_seconds())
        print(f"daemon: alive, {d['worker']}, since {when(d['started_at'])}, beat {ago} s ago")
    if not alive:
        print("daemon: NONE ALIVE " + _last_seen(facts["daemons"], when))
    recent = facts["last_24h"]
    print(f"last 24 h: {recent['sent']} sent, {recent['failed']} failed, "
          f"{recent['in_doubt']} in doubt, {recent['missed']} missed, "
          f"{recent['held']} held")  # fmt: skip
    print(f"now: {facts['queued']} queued, {facts['sending']} sending")
    for name, until in facts["held"].items():
        print(f"account {name}: held by a rate limit until {when(until)}")
    if facts["next"]:
        rows = [(when(n["due"]), n["post"], ", ".join(n["accounts"])) for n in facts["next"]]
        print(table(["next due", "post", "accounts"], rows))
    for item in needs:
        print(f"ATTENTION: {item}")
    verdicts = {HEALTHY: "healthy", ATTENTION: f"{len(needs)} thing(s) need attention",
                NO_DAEMON: "no daemon alive (systemctl start crosspost; see its log)"}  # fmt: skip
    print(f"status: {verdicts[code]}")
    return code


def _last_seen(daemons: list[dict[str, Any]], when: Any) -> str:
    if not daemons:
        return "(none has ever run with this database)"
    last = daemons[0]
    how = "stopped cleanly" if last["stopped_at"] else "without stopping: it died"
    return f"(last seen: {last['worker']} at {when(last['beat_at'])}, {how})"


def _plain(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)

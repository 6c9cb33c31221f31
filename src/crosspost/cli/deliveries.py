"""The commands that read or change delivery state: history, retry, resolve, run --once."""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from crosspost import store
from crosspost.cli.terminal import table
from crosspost.config.settings import Config, load_config
from crosspost.model import RESOLVED_BY_HAND, Status
from crosspost.service.runtime import Runtime

SYSTEMD_STATE = Path("/var/lib/crosspost")


STEP_WAIT_LIMIT = timedelta(minutes=3)  # longer than Instagram's container_wait


def main(args: argparse.Namespace, now: datetime) -> int:
    # Only the config is needed: these work even when an adapter is broken.
    config = load_config(args.config, args.state_dir)
    engine = store.open_existing(config.database_url)
    if engine is None:
        print(no_database(config), file=sys.stderr)
        return 2 if args.command == "status" else 1  # status: no daemon has run here
    if args.command == "status":
        from crosspost.cli.status import show

        return show(config, engine, now, args.json)
    if args.command == "history":
        if args.status and args.status not in store.STATUSES:
            print(
                f"unknown status {args.status!r}; use one of: {', '.join(store.STATUSES)}",
                file=sys.stderr,
            )
            return 2
        rows = history_rows(engine, config.zone, args.status, args.limit)
        headers = ["id", "due", "post", "account", "by", "status", "tries", "url / reason"]
        print(table(headers, rows))
        return 0
    if args.command == "feeds":
        return _feeds(engine, config, now)
    return _settle(engine, args, now)


def no_database(config: Config) -> str:
    """Where the command looked, and how to point it at the daemon's database."""
    where = config.database_url.removeprefix("sqlite:///")
    hint = "pass --state-dir DIR (or set state_dir in the config) to where the daemon keeps it"
    if (SYSTEMD_STATE / "crosspost.db").exists() and config.state_dir != SYSTEMD_STATE:
        hint = (
            f"the systemd service keeps it in {SYSTEMD_STATE}: run "
            f"crosspost --state-dir {SYSTEMD_STATE} ... (or set state_dir in the config)"
        )
    return f"crosspost: no database at {where} (has the daemon run with this config?); {hint}"


def _feeds(engine: Engine, config: Config, now: datetime) -> int:
    from crosspost.sources.feeds.state import all_states

    states = all_states(engine)
    zone = config.zone

    def when(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "never"

    rows = []
    for name in sorted(set(config.feeds) | set(states)):
        state = states.get(name)
        health = (
            "removed"
            if name not in config.feeds
            else (
                "not polled yet"
                if state is None
                else (f"FAILING: {state.last_error}" if state.last_error else "ok")
            )
        )
        rows.append(
            (
                name,
                health,
                when(state.last_fetch if state else None),
                when(state.last_success if state else None),
                state.items_seen if state else 0,
                when(state.next_poll if state else None),
            )
        )
    print(table(["feed", "health", "last fetch", "last success", "items seen", "next poll"], rows))
    return 1 if any(row[1].startswith("FAILING") for row in rows) else 0


def run_once(runtime: Runtime) -> int:
    """Poll every feed, then one tick; exit 1 if a delivery of this run failed or is in doubt
    (cron mails the output)."""
    from crosspost.service.feed_polls import FeedPolls

    FeedPolls(runtime, None, on_queued=lambda: None).poll_all()
    runtime.tick(threading.Event())
    # A multi-step publish (Instagram's container) comes back after each step: follow it
    # to its end, as the daemon would, rather than exit with it half done.
    while (step := store.next_step_at(runtime.engine)) is not None:
        wait = (step - runtime.clock()).total_seconds()
        if wait > STEP_WAIT_LIMIT.total_seconds():
            break
        time.sleep(max(wait, 0.0))
        runtime.tick(threading.Event())
    bad = store.deliveries(
        runtime.engine,
        store.columns.status.in_((Status.FAILED, Status.IN_DOUBT)),
        store.columns.claimed_by == runtime.worker,
    )
    return 1 if bad else 0


def history_rows(
    engine: Engine, zone: ZoneInfo, status: str | None, limit: int
) -> list[tuple[object, ...]]:
    where = [store.columns.status == status] if status else []
    rows = store.deliveries(engine, *where, newest_first=True, limit=limit)
    return [
        (
            row.id,
            row.due_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            row.post_id,
            row.account,
            row.author or "",
            row.status,
            row.attempts,
            " ⚠ ".join(part for part in (_where(row), row.reason) if part),
        )
        for row in rows
    ]


def _where(row: store.Delivery) -> str:
    """The post's URL, and that its first comment is there when one was added."""
    return f"{row.remote_url} (+ first comment)" if row.comment_url else (row.remote_url or "")


def _settle(engine: Engine, args: argparse.Namespace, now: datetime) -> int:
    rows = store.deliveries(engine, store.columns.id == args.delivery)
    if not rows:
        print(f"no delivery {args.delivery}; see `crosspost history`", file=sys.stderr)
        return 1
    row = rows[0]
    if args.command == "resolve" and args.sent and not re.fullmatch(r"https?://\S+", args.sent):
        print(f"--sent takes the post's http(s) address, not {args.sent[:60]!r}", file=sys.stderr)
        return 2
    if args.command == "release":
        if row.status != Status.HELD:
            print(f"delivery {row.id} is {row.status}, not held", file=sys.stderr)
            return 1
        values = {"status": Status.QUEUED, "released": True, "next_attempt_at": now,
                  "reason": "released by a person from the charter's hold"}  # fmt: skip
    elif args.command == "retry":
        retried = (Status.FAILED, Status.MISSED, Status.CANCELLED, Status.IN_DOUBT, Status.HELD)
        if row.status not in retried:  # a held one is checked against the charter again
            print(
                f"delivery {row.id} is {row.status}; only failed, missed, cancelled, held or "
                "in_doubt deliveries can be retried",
                file=sys.stderr,
            )
            return 1
        values = {"status": Status.QUEUED, "attempts": 0, "next_attempt_at": now, "reason": None}
    else:
        warned = row.status == Status.SENT and bool(row.reason) and args.sent
        if row.status != Status.IN_DOUBT and not warned:
            print(f"delivery {row.id} is {row.status}, not in_doubt (or sent with a warning, "
                  "settled with --sent URL)", file=sys.stderr)  # fmt: skip
            return 1
        settled = f"{RESOLVED_BY_HAND} (was: {row.reason})" if warned else RESOLVED_BY_HAND
        values = (
            {"status": Status.SENT, "remote_url": args.sent, "reason": settled}
            if args.sent
            else {"status": Status.QUEUED, "attempts": 0, "next_attempt_at": now, "reason": None}
        )
    store.set_status(engine, store.columns.id == row.id, now, claimed_by=None, **values)
    print(f"delivery {row.id} ({row.post_id} → {row.account}) is now {values['status']}")
    if args.command == "retry" and row.account in store.paused_accounts(engine):
        print(
            f"note: account {row.account} is paused until its credentials verify "
            f"(`crosspost check --online`)"
        )
    return 0

"""What `check`, `preview`, `upcoming` and `history` show: computed here, printed by the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from crosspost import store
from crosspost.adapters import PublishError
from crosspost.calendar import Post
from crosspost.dispatch import render_for
from crosspost.fitting import TextTooLong
from crosspost.problems import Problem
from crosspost.setup import Setup
from crosspost.voice import VoiceError


@dataclass(frozen=True)
class Rendered:
    post: Post
    account: str
    parts: tuple[str, ...]
    counts: tuple[int, ...]
    limit: str
    error: str = ""


def render_all(setup: Setup, posts: list[Post], account: str | None = None) -> list[Rendered]:
    """Every (post, account) rendered exactly as it would be sent, or the reason it cannot be."""
    results = []
    for post in posts:
        for name in post.accounts:
            if (account and name != account) or name not in setup.adapters:
                continue
            rules = setup.adapters[name].rules
            try:
                _, outgoing = render_for(setup, post, name)
            except (VoiceError, TextTooLong) as exc:
                results.append(Rendered(post, name, (), (), rules.describe(), str(exc)))
                continue
            counts = tuple(rules.count(part) for part in outgoing.parts)
            results.append(Rendered(post, name, outgoing.parts, counts, rules.describe()))
    return results


def check_problems(setup: Setup, now: datetime) -> list[Problem]:
    """Calendar problems plus every upcoming post that cannot be rendered or does not fit."""
    upcoming = [
        p
        for p in setup.calendar.posts.values()
        if not p.draft and p.next_after(now, setup.config.zone) is not None
    ]
    problems = list(setup.problems)
    for result in render_all(setup, upcoming):
        if result.error:
            key = (
                f"post.override.{result.account}"
                if result.account in result.post.overrides
                else "post.text"
            )
            problems.append(
                Problem(
                    result.post.file,
                    result.post.line,
                    key,
                    f"for account {result.account!r}: {result.error}",
                )
            )
    return problems


def verify_accounts(setup: Setup) -> list[tuple[str, str, str]]:
    """(account, network, handle or error) for every account: `check --online`."""
    rows = []
    for name, adapter in setup.adapters.items():
        try:
            outcome = "ok: " + adapter.verify()
        except PublishError as exc:
            outcome = f"FAILED: {type(exc).__name__}: {exc}"
        rows.append((name, setup.config.accounts[name].network, outcome))
    return rows


def upcoming_rows(setup: Setup, now: datetime, days: int) -> list[tuple[str, ...]]:
    zone = setup.config.zone
    rows: list[tuple[str, ...]] = []
    for due, _key, post in setup.calendar.upcoming(now, now + timedelta(days=days), zone):
        rows.append(
            (
                due.astimezone(zone).strftime("%a %Y-%m-%d %H:%M"),
                post.id,
                ", ".join(post.accounts),
                post.title or post.text,
            )
        )
    return rows


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
            row.status,
            row.attempts,
            row.remote_url or row.reason or "",
        )
        for row in rows
    ]

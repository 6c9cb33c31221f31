"""What `check`, `preview`, `upcoming` and `history` show: computed here, printed by the CLI."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from crosspost import store
from crosspost.adapter import OutgoingPost, PublishError, profile_of
from crosspost.config.problems import LineFinder, Problem
from crosspost.errors import StoreUnavailable
from crosspost.model import Source, Status
from crosspost.render.charter import Hit
from crosspost.render.compose import render_for
from crosspost.render.first_comment import KEY as COMMENT_KEY
from crosspost.render.first_comment import CommentDoesNotFit, can_comment, cannot_comment
from crosspost.render.fitting import DoesNotFit
from crosspost.render.textrules import TextRules
from crosspost.render.voice import VoiceError
from crosspost.service.assembly import Setup
from crosspost.sources.calendar import Post
from crosspost.sources.queue import QUEUE, queued


@dataclass(frozen=True)
class Rendered:
    post: Post
    account: str
    parts: tuple[str, ...]
    rules: TextRules
    error: str = ""
    outgoing: OutgoingPost | None = None
    error_key: str = ""  # the calendar key the error is about, when not the text

    @property
    def published_text(self) -> str:
        """Everything that goes out for this account: the parts, then the first comment."""
        comment = self.outgoing.first_comment if self.outgoing else ""
        return "\n\n".join((*self.parts, comment) if comment else self.parts)


def describe(
    outgoing: OutgoingPost, rules: TextRules, comment_rules: TextRules | None = None
) -> str:
    """What `preview` prints for one account: each part with its count against the limit
    ("241 / 280"), then the link card, every image with its alt text, and the first
    comment with its count against the network's comment limit."""
    lines = []
    for part in outgoing.parts:
        lines += [part, f"   ({rules.count(part)} / {rules.limit})", ""]
    if outgoing.link:
        lines.append(f"   link card: {outgoing.link}")
    for image in outgoing.images:
        kind = f"{image.kind.upper()}, {image.size / 1e6:.1f} MB" if image.kind else "image"
        alt = f"alt: {image.alt}" if image.alt else "NO ALT TEXT (screen readers say nothing)"
        lines.append(f"   image: {image.path.name} ({kind}); {alt}")
    if outgoing.meta.get("image_url"):
        lines.append(f"   image: {outgoing.meta['image_url']}")
    if outgoing.first_comment:
        lines += [
            "",
            "   first comment:",
            *(f"   {line}" for line in outgoing.first_comment.split("\n")),
        ]
        counted = comment_rules.count(outgoing.first_comment) if comment_rules else 0
        lines.append(f"   ({counted} / {comment_rules.limit})" if comment_rules else
                     "   (NOT ADDED: this network's adapter cannot comment)")  # fmt: skip
    return "\n".join(lines).rstrip() + "\n"


def render_all(setup: Setup, posts: list[Post], account: str | None = None) -> list[Rendered]:
    """Every (post, account) rendered exactly as it would be sent, or the reason it cannot be."""
    results = []
    for post in posts:
        memo: dict[tuple[str, str], str] = {}
        for name in post.accounts:
            if (account and name != account) or name not in setup.adapters:
                continue
            rules = setup.adapters[name].rules
            try:
                _, outgoing = render_for(setup, post, name, memo)
            except (VoiceError, DoesNotFit) as exc:
                key = COMMENT_KEY if isinstance(exc, CommentDoesNotFit) else ""
                results.append(Rendered(post, name, (), rules, str(exc), error_key=key))
                continue
            results.append(Rendered(post, name, outgoing.parts, rules, outgoing=outgoing))
    return results


def check_problems(setup: Setup, now: datetime) -> list[Problem]:
    """Calendar problems plus every upcoming post that cannot be rendered or does not fit.

    Big calendars are rendered on every core (50,000 renders take ~2 s on one): the work
    is split in forked processes that inherit the loaded setup, so nothing is re-parsed.
    The loaded setup is frozen out of the garbage collector's view first: its hundreds of
    thousands of objects live to the end, and scanning them again and again during the
    renders cost a quarter of the time.
    """
    gc.freeze()
    upcoming = [
        p
        for p in setup.calendar.posts.values()
        if not p.draft and p.next_after(now, setup.config.zone) is not None
    ]
    workers = min(os.cpu_count() or 1, len(upcoming) // PARALLEL_FROM)
    if workers < 2:
        return [*setup.problems, *_render_problems(setup, upcoming)]
    global _FORKED  # read by the forked children; no pickling of the setup
    _FORKED = (setup, upcoming)
    chunks = [(start, workers) for start in range(workers)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        found = pool.map(_render_chunk, chunks)
    return [*setup.problems, *(problem for chunk in found for problem in chunk)]


PARALLEL_FROM = 1000
_FORKED: tuple[Setup, list[Post]] | None = None


def _render_chunk(chunk: tuple[int, int]) -> list[Problem]:
    assert _FORKED is not None
    setup, posts = _FORKED
    start, step = chunk
    return _render_problems(setup, posts[start::step])


def _render_problems(setup: Setup, posts: list[Post]) -> list[Problem]:
    problems = []
    for result in render_all(setup, posts):
        override = result.account in result.post.overrides
        key = f"post.override.{result.account}" if override else "post.text"
        if result.post.comment_for(result.account).strip():
            adapter = setup.adapters[result.account]
            if not can_comment(adapter):
                problems.append(Problem(result.post.file, result.post.line,
                                        f"post.{COMMENT_KEY}", cannot_comment(adapter),
                                        "warning"))  # fmt: skip
        for hit in charter_hits(setup, result):
            message = f"for account {result.account!r}: {hit.describe()}"
            problems.append(Problem(result.post.file, result.post.line, key, message,
                                    hit.rule.severity))  # fmt: skip
        if result.error:
            problems.append(
                Problem(
                    result.post.file,
                    _key_line(result.post, result.error_key, result.account),
                    f"post.{result.error_key}" if result.error_key else key,
                    f"for account {result.account!r}: {result.error}",
                )
            )
    return problems


def _key_line(post: Post, key: str, account: str) -> int:
    """The line of `key` in the post's entry (in its override for `account` first), for an
    error about that key; the post's id line when it cannot be found."""
    if not key:
        return post.line
    try:
        lines = Path(post.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return post.line
    headers = [n for n, text in enumerate(lines, 1) if text.lstrip().startswith("[[")]
    begin = max((n for n in headers if n <= post.line), default=1)
    end = min((n for n in headers if n > post.line), default=len(lines) + 1)
    entry = LineFinder("\n".join(lines[begin - 1 : end - 1]), first_line=begin)
    override = f"post.override.{account}"
    if (
        entry.table_line(override)[0]
        and entry.key_line(override, 0, key) != entry.table_line(override)[0]
    ):
        return entry.key_line(override, 0, key)
    found = entry.key_line("post", 0, key)
    return found if found != begin else post.line


def charter_hits(setup: Setup, result: Rendered) -> list[Hit]:
    """The charter's rules this rendered text breaks, as the daemon will check it."""
    if not setup.charter or not result.parts:
        return []
    network = setup.config.accounts[result.account].network
    return setup.charter.hits(result.published_text, result.account, network, "calendar")


def verify_accounts(setup: Setup) -> list[tuple[str, str, str]]:
    """(account, network, handle or error) for every account: `check --online`."""
    rows = []
    for name, adapter in setup.adapters.items():
        try:
            profile = profile_of(adapter.verify())
            outcome = "ok: " + profile.handle
            if profile.rules is not None and profile.rules != adapter.rules:
                outcome += f" (the network says: {profile.rules.describe()})"
        except PublishError as exc:
            outcome = f"FAILED: {type(exc).__name__}: {exc}"
        rows.append((name, setup.config.accounts[name].network, outcome))
    return rows


def upcoming_rows(setup: Setup, now: datetime, days: int) -> list[tuple[str, ...]]:
    """What is planned, soonest first: the calendar's timed posts, and (from the daemon's
    database, when there is one) the slots queued posts and feed items have taken, plus
    the slots queued posts not yet seen by the daemon will take."""
    zone, end = setup.config.zone, now + timedelta(days=days)
    planned: list[tuple[datetime, str, str, str, str]] = [
        (due, post.id, ", ".join(post.accounts), post.by, post.title or post.text)
        for due, _key, post in setup.calendar.upcoming(now, end, zone)
    ]
    engine = _database(setup)
    if engine is not None:
        c = store.columns
        slotted = (c.occurrence == QUEUE) | (c.source == Source.FEED)
        window = (c.due_at > now) & (c.due_at <= end)
        for row in store.deliveries(engine, c.status == Status.QUEUED, window, slotted):
            item = json.loads(row.payload or "{}")
            post = setup.calendar.posts.get(row.post_id)
            text = (post.title or post.text) if post else item.get("title", "")
            by = post.by if post else item.get("author", "")
            planned.append((row.due_at, row.post_id, row.account, by, text))
    for occurrence in queued(engine, setup.config, setup.calendar, now):
        if occurrence.due <= end:
            post = setup.calendar.posts[occurrence.post_id]
            planned.append((occurrence.due, post.id, f"{occurrence.account} (queued)", post.by,
                            post.title or post.text))  # fmt: skip
    return [(f"{due.astimezone(zone):%a %Y-%m-%d %H:%M}", *rest) for due, *rest in sorted(planned)]


def _database(setup: Setup) -> Engine | None:
    """The daemon's database, read only, if there is one (else `upcoming` shows the files)."""
    try:
        return store.open_existing(setup.config.database_url)
    except StoreUnavailable:
        return None

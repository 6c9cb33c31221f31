"""Approval: one person in charge sees and approves what goes out.

With `approval = "required"` (for the daemon, or one account), a calendar post goes to that
account only if it carries a valid approval: `approved_by`, one of `[daemon] approvers`, and
`approved`, a digest of what was approved (its text, title, link, images, accounts, first
comment and overrides), both written into the entry by `crosspost approve`. Editing any of those
afterwards voids the approval (the digest no longer matches); moving the post's time does
not. Feed articles are not held for approval: they were published on the company's own blog
first (the charter still applies to them).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine

from crosspost import store
from crosspost.config.problems import Problem
from crosspost.config.settings import Config
from crosspost.model import Status
from crosspost.sources.calendar import Calendar, Post

HOLD_PREFIX = "awaits approval"  # how a held delivery's reason starts


class Approval(StrEnum):
    NOT_NEEDED = "not needed"
    APPROVED = "approved"
    MISSING = "missing"  # never approved
    VOIDED = "voided"  # approved, then edited
    UNKNOWN_APPROVER = "unknown approver"  # approved_by is not in [daemon] approvers


def required(config: Config, account: str) -> bool:
    own = config.accounts[account].approval if account in config.accounts else ""
    return (own or config.daemon.approval) == "required"


def content_digest(post: Post) -> str:
    """What an approval covers, as 20 hex digits: any edit to it changes them."""
    approved = {
        "text": post.text,
        "title": post.title,
        "link": post.link,
        "images": [[str(image.path), image.alt, image.size] for image in post.images],
        "accounts": sorted(post.accounts),
        "overrides": dict(sorted(post.overrides.items())),
    }
    if post.first_comment or post.comment_overrides:  # absent: older approvals stay valid
        approved["first_comment"] = post.first_comment
        approved["comment_overrides"] = dict(sorted(post.comment_overrides.items()))
    canonical = json.dumps(approved, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.blake2b(canonical, digest_size=10).hexdigest()


def state(config: Config, post: Post, account: str | None = None) -> Approval:
    """Whether `post` may go to `account` (to any of its accounts that need approval when
    `account` is None)."""
    accounts = [account] if account else list(post.accounts)
    if not any(required(config, name) for name in accounts):
        return Approval.NOT_NEEDED
    if not post.approved_by:
        return Approval.MISSING
    if post.approved_by not in config.daemon.approvers:
        return Approval.UNKNOWN_APPROVER
    if post.approved != content_digest(post):
        return Approval.VOIDED
    return Approval.APPROVED


def hold_reason(config: Config, post: Post, found: Approval) -> str:
    """Why a due delivery of `post` waits, with the command that lets it go."""
    who = ", ".join(config.daemon.approvers) or "nobody (add [daemon] approvers)"
    command = f"crosspost approve {post.id} --as NAME (one of: {who})"
    if found == Approval.VOIDED:
        return (f"{HOLD_PREFIX} again: edited after {post.approved_by} approved it; "
                f"{command}")  # fmt: skip
    if found == Approval.UNKNOWN_APPROVER:
        return f"{HOLD_PREFIX}: {post.approved_by!r} is not an approver; {command}"
    return f"{HOLD_PREFIX}: {command}"


def problems(config: Config, posts: list[Post]) -> list[Problem]:
    """What `check` says about approvals: an approver who is not one (an error), an
    approval an edit voided (a warning: the post waits). A post never approved is not a
    problem of the file: `crosspost pending` lists it."""
    found = []
    if config.daemon.approval == "required" and not config.daemon.approvers:
        message = 'approval is required but nobody may approve: add approvers = ["NAME"]'
        found.append(config.problem("daemon", 0, "approval", message))
    for post in posts:
        result = state(config, post)
        if result == Approval.UNKNOWN_APPROVER:
            message = (f"{post.approved_by!r} is not one of [daemon] approvers "
                       f"({', '.join(config.daemon.approvers) or 'none'})")  # fmt: skip
            found.append(Problem(post.file, post.line, "post.approved_by", message))
        elif result == Approval.VOIDED:
            message = (f"edited after {post.approved_by} approved it: it will not go out until "
                       f"approved again (crosspost approve {post.id})")  # fmt: skip
            found.append(Problem(post.file, post.line, "post.approved", message, "warning"))
    return found


def requeue_approved(engine: Engine, config: Config, calendar: Calendar, now: datetime) -> int:
    """Deliveries held for an approval that their post now has go out (after an `approve`
    and the reload that follows it)."""
    c = store.columns
    rows = store.deliveries(engine, c.status == Status.HELD, c.reason.startswith(HOLD_PREFIX))
    let_go = [
        row.id
        for row in rows
        if (post := calendar.posts.get(row.post_id)) is not None
        and state(config, post, row.account) == Approval.APPROVED
    ]
    if let_go:
        store.set_status(engine, c.id.in_(let_go), now, status=Status.QUEUED,
                         next_attempt_at=now, reason="approved")  # fmt: skip
    return len(let_go)

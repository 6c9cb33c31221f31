"""`crosspost approve ID [--as NAME]` and `crosspost pending`: the person in charge's two
commands.

`approve` writes `approved_by` and `approved` (the digest of what was approved) into that
post's entry in its calendar file, with tomlkit, so the file keeps its comments, its order
and its formatting, and the change is reviewed like any other edit. `pending` lists what
awaits an approval (never approved, or edited since), with who wrote it and when it is due.
"""

from __future__ import annotations

import getpass
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from crosspost.cli.terminal import table
from crosspost.service.assembly import Setup, load_setup
from crosspost.sources import approval
from crosspost.sources.approval import Approval


def approve(setup: Setup, post_id: str, name: str | None, state_dir: Path | None) -> int:
    config = setup.config
    post = setup.calendar.posts.get(post_id)
    if post is None:
        return _fail(f"no post {post_id!r} in the calendars; see `crosspost pending`")
    who = name or os.environ.get("CROSSPOST_APPROVER") or getpass.getuser()
    if who not in config.daemon.approvers:
        listed = ", ".join(config.daemon.approvers) or "none yet"
        return _fail(f"{who!r} may not approve: [daemon] approvers in {config.path.name} "
                     f"lists who may ({listed}); pass --as NAME")  # fmt: skip
    digest = approval.content_digest(post)
    try:
        _write(Path(post.file), post_id, who, digest)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot write {post.file}: {exc}")
    fresh = load_setup(config.path, state_dir=state_dir).calendar.posts.get(post_id)
    if fresh is None or approval.state(config, fresh) != Approval.APPROVED:
        return _fail(f"wrote the approval into {post.file}, but the post does not read back "
                     "as approved: run `crosspost check`")  # fmt: skip
    print(f"{post_id} approved by {who} ({post.file}:{fresh.line}); the daemon picks it up "
          "on its next reload (at once when it watches the file)")  # fmt: skip
    return 0


def _write(path: Path, post_id: str, who: str, digest: str) -> None:
    """Set the two keys in that entry, keeping everything else of the file as it was."""
    import tomlkit

    document = tomlkit.parse(path.read_text(encoding="utf-8"))
    entries: Any = document.get("post", [])
    matches = [entry for entry in entries if entry.get("id") == post_id]
    if len(matches) != 1:
        raise ValueError(f"{len(matches)} entries with id {post_id!r} in this file")
    entry = matches[0]
    entry["approved_by"] = who
    entry["approved"] = digest
    text = tomlkit.dumps(document)
    mode = path.stat().st_mode & 0o7777
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                     prefix=".approve-", delete=False) as handle:  # fmt: skip
        handle.write(text)
    os.chmod(handle.name, mode)
    os.replace(handle.name, path)  # an editor's save: the daemon's watcher sees it


def pending(setup: Setup, now: datetime, days: int) -> int:
    """What needs an approval before it can go out, soonest first; exit 1 when anything does."""
    config = setup.config
    rows, seen = _held(setup)
    for due, _key, post in setup.calendar.upcoming(now, now + timedelta(days=days), config.zone):
        found = approval.state(config, post)
        if found in (Approval.NOT_NEEDED, Approval.APPROVED) or post.id in seen:
            continue
        seen.add(post.id)
        waiting = [a for a in post.accounts if approval.required(config, a)]
        rows.append((f"{due.astimezone(config.zone):%a %Y-%m-%d %H:%M}", post.id,
                     post.by or "-", ", ".join(waiting), str(found)))  # fmt: skip
    if not rows:
        print(f"nothing awaits approval in the next {days} days")
        return 0
    print(table(["due", "post", "by", "accounts", "approval"], rows))
    print(f"{len(rows)} post(s) await approval: crosspost approve ID --as NAME")
    return 1


def _held(setup: Setup) -> tuple[list[tuple[str, ...]], set[str]]:
    """Due posts the daemon holds for an approval (from its database, when there is one)."""
    from crosspost import store
    from crosspost.errors import StoreUnavailable
    from crosspost.model import Status

    try:
        engine = store.open_existing(setup.config.database_url)
    except StoreUnavailable:
        engine = None
    if engine is None:
        return [], set()
    c = store.columns
    held = store.deliveries(engine, c.status == Status.HELD,
                            c.reason.startswith(approval.HOLD_PREFIX))  # fmt: skip
    by_post: dict[str, list[store.Delivery]] = {}
    for row in held:
        by_post.setdefault(row.post_id, []).append(row)
    zone, rows = setup.config.zone, []
    for post_id, found in by_post.items():
        post = setup.calendar.posts.get(post_id)
        due = min(row.due_at for row in found).astimezone(zone)
        rows.append((f"{due:%a %Y-%m-%d %H:%M}", post_id, (post.by if post else "") or "-",
                     ", ".join(row.account for row in found), "held: due"))  # fmt: skip
    return sorted(rows), set(by_post)


def _fail(message: str) -> int:
    print(f"crosspost approve: {message}", file=sys.stderr)
    return 1

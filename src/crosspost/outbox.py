"""The `outbox` network: each post becomes one file in a folder.

It is the demo's network and a real archive: a team can review what went out, or feed the
folder to another tool. Its text rules come from the account's config, so every overflow
policy can be tried without a real network. Publishing is idempotent: the file is named after
the delivery key and written atomically, so a publish repeated after a crash finds its file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from crosspost.adapter import (
    Account,
    AdapterConfigError,
    OutgoingPost,
    PermanentError,
    Profile,
    Receipt,
)
from crosspost.registry import AdapterNotInstalled, find_text_rules
from crosspost.render.textrules import TextRules


class OutboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = ""  # default: <state_dir>/outbox
    limit: int = Field(default=63206, ge=1)
    counting: str = Field(default="chars", pattern=r"^[a-z][a-z0-9_-]*$")
    url_length: int | None = None
    threads: bool = True


class OutboxAdapter:
    network: ClassVar[str] = "outbox"
    idempotent = True  # the file is named after the delivery key

    settings_model = OutboxSettings

    def __init__(self, account: Account[OutboxSettings]) -> None:
        parsed = account.settings
        self.account = account.name
        root = account.base_dir / parsed.path if parsed.path else account.state_dir / "outbox"
        self.folder = (root / account.name).resolve()
        counter = bound = None
        counting = parsed.counting
        if counting not in ("chars", "graphemes"):
            counter, bound, counting = _counting_of(counting)
        self.rules = TextRules(
            limit=parsed.limit,
            counting=counting,
            counter=counter,
            bound=bound,
            url_length=parsed.url_length,
            threads=parsed.threads,
        )

    def _target(self, key: str) -> Path:
        return self.folder / (re.sub(r"[^A-Za-z0-9._-]+", "_", key) + ".txt")

    def verify(self) -> Profile:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PermanentError(f"cannot create {self.folder}: {exc.strerror}") from exc
        if not os.access(self.folder, os.W_OK):
            raise PermanentError(f"{self.folder} is not writable")
        return Profile(str(self.folder))

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        target = self._target(key)
        receipt = Receipt(remote_id=target.name, url=target.as_uri())
        if target.exists():
            return receipt  # published before a crash: same key, same file
        self._write(target, render_file(post, key, self.account))
        return receipt

    @property
    def comment_rules(self) -> TextRules:
        return self.rules

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The first comment, in a file of its own beside the post's (named after `key`)."""
        target = self._target(key)
        if not target.exists():
            self._write(target, f"account: {self.account}\ncomment on: {on.remote_id}\n\n{text}\n")
        return Receipt(remote_id=target.name, url=target.as_uri())

    def _write(self, target: Path, content: str) -> None:
        """Written whole or not at all, and synced: a crash leaves no half file."""
        self.verify()
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self.folder, prefix=".tmp-", delete=False
        ) as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        target = self._target(key)
        return Receipt(target.name, target.as_uri()) if target.exists() else None


def render_file(post: OutgoingPost, key: str, account: str) -> str:
    head = [f"account: {account}", f"delivery: {key}"]
    if post.meta.get("author"):
        head.append(f"author: {post.meta['author']}")
    if post.title:
        head.append(f"title: {post.title}")
    if post.link:
        head.append(f"link: {post.link}")
    head += [f"image: {image.path} (alt: {image.alt})" for image in post.images]
    body = post.parts[0]
    for number, part in enumerate(post.parts[1:], start=2):
        body += f"\n\n--- reply {number}/{len(post.parts)} ---\n\n{part}"
    return "\n".join(head) + "\n\n" + body + "\n"


def _counting_of(
    network: str,
) -> tuple[Callable[[str], int] | None, Callable[[str], int] | None, str]:
    """`counting = "x"`: count as an installed network's adapter does, so an outbox can
    stand in for it (the demo's X account); the count belongs to that adapter."""
    try:
        rules = find_text_rules(network)
    except AdapterNotInstalled as exc:
        raise AdapterConfigError(
            "counting",
            f"outbox: counting = {network!r} counts as the {network} network does: {exc}",
        ) from exc
    return rules.counter, rules.bound, rules.counting

"""The Mastodon adapter: statuses and reply-chain threads on any instance, with Mastodon.py.

* The instance's own limits (`max_characters`, `characters_reserved_per_url`,
  `max_media_attachments`) are read from ``/api/v2/instance`` at `verify()`; until then (and
  for `check` without `--online`) the account's configured defaults apply.
* Every status carries an ``Idempotency-Key`` derived from the delivery's key (one per part
  of a thread), so a retry after a lost answer gets the same status back, not a second one.
* Images are uploaded with their alt text (``description``) to ``/api/v2/media``, which
  processes them asynchronously: while one is processing, `publish` raises `Pending` and the
  account's lane is freed; the next step checks the media and posts.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, ClassVar, Literal

import requests
from mastodon import Mastodon, MastodonNotFoundError
from pydantic import BaseModel, ConfigDict, Field

from crosspost.adapter import (
    URL,
    Account,
    Engagement,
    Needs,
    OutgoingPost,
    Pending,
    PermanentError,
    Profile,
    Receipt,
    TextRules,
    ThreadProgress,
    number,
)
from crosspost_mastodon import counting
from crosspost_mastodon.errors import classify
from crosspost_mastodon.oauth import MastodonOAuthFlow

VISIBILITIES = ("public", "unlisted", "private", "direct")
OPTIONS = ("visibility", "language", "spoiler_text")  # what a voice's `options` may set
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<br\s*/?>|</p>")
_DOMAIN = re.compile(r"(@[A-Za-z0-9_]+)@[\w.-]+\w")


class MastodonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_base_url: str = Field(pattern=r"^https?://[^\s/]+")  # the instance, https://...
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    language: str = Field(default="", pattern=r"^([a-z]{2,3})?$")  # ISO 639, "" = instance's
    spoiler_text: str = ""  # a content warning on every status of this account
    # Offline defaults, replaced by the instance's own at `verify()`:
    max_characters: int = Field(default=500, gt=0)
    characters_reserved_per_url: int = Field(default=23, ge=0)
    max_media_attachments: int = Field(default=4, ge=0)
    media_check_seconds: float = Field(default=2.0, gt=0)  # between media processing checks
    timeout: float = Field(default=30.0, gt=0)


class MastodonAdapter:
    network: ClassVar[str] = "mastodon"
    settings_model = MastodonSettings
    idempotent = True  # the Idempotency-Key: sending one delivery twice makes one status
    idempotent_for = 3300.0  # Mastodon keeps a key for up to an hour: 55 minutes, to be safe

    @classmethod
    def needs(cls, settings: MastodonSettings) -> Needs:
        return Needs(("access_token",), "run: crosspost auth {account}")

    def __init__(self, account: Account[MastodonSettings]) -> None:
        self.settings = s = account.settings
        self._token = account.secrets["access_token"]
        self.base = s.api_base_url.rstrip("/")
        self.rules = counting.rules(
            s.max_characters, s.characters_reserved_per_url, s.max_media_attachments, s.spoiler_text
        )
        self.threads = ThreadProgress(account.state_dir / "mastodon" / account.name / "threads")
        self._account_id: str | None = None

    @classmethod
    def oauth_flow(cls, account: Account[MastodonSettings]) -> MastodonOAuthFlow:
        return MastodonOAuthFlow(account.settings.api_base_url, dict(account.secrets))

    @cached_property
    def api(self) -> Mastodon:
        """Made at the first call (building does no I/O). "throw": Mastodon.py's default
        sleeps until a rate limit lifts, in our lane and not thread-safe; the core waits."""
        return Mastodon(
            access_token=self._token,
            api_base_url=self.base,
            ratelimit_method="throw",
            request_timeout=self.settings.timeout,
            mastodon_version="4.0.0",  # no version probe: crosspost uses 3.1.4+ APIs only
            version_check_mode="created",  # checks calls against 4.0, never asks
            session=requests.Session(),
        )

    def verify(self) -> Profile:
        try:
            me = self.api.account_verify_credentials()
            instance = self.api.instance_v2()
        except Exception as exc:
            raise classify(exc, self.api, sent=False) from exc
        self._account_id = str(me["id"])
        statuses = (instance.get("configuration") or {}).get("statuses") or {}
        media = (instance.get("configuration") or {}).get("media_attachments") or {}
        s = self.settings
        self.rules = counting.rules(
            int(statuses.get("max_characters") or s.max_characters),
            int(statuses.get("characters_reserved_per_url") or s.characters_reserved_per_url),
            int(
                statuses.get("max_media_attachments")
                or media.get("max_media_attachments")  # some servers put it here
                or s.max_media_attachments
            ),
            s.spoiler_text,
        )
        domain = instance.get("domain") or self.base.split("://", 1)[-1]
        return Profile(f"@{me['username']}@{domain}", self.rules)

    def preflight(self, post: OutgoingPost) -> str | None:
        visibility = post.meta.get("visibility")
        if visibility is not None and visibility not in VISIBILITIES:
            return f"visibility {visibility!r}: Mastodon takes one of {', '.join(VISIBILITIES)}"
        warning = post.meta.get("spoiler_text")
        if warning is not None and post.parts:
            total = counting.status_length(warning, self.rules.url_length or 23)
            total += counting.status_length(post.parts[0], self.rules.url_length or 23)
            if total > self.rules.limit:
                return (
                    f"the content warning and the text count {total}; this instance takes "
                    f"{self.rules.limit}: shorten one of them"
                )
        return None

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        problem = self.preflight(post)
        if problem:
            raise PermanentError(problem)
        posted = self.threads.load(key)
        media_ids: list[str] = []
        if post.images and not posted:
            media_ids = self._media(post, key)
        options = self._options(post)
        url = ""
        sending = False
        try:
            for index in range(len(posted), len(post.parts)):
                sending = True
                status = self.api.status_post(
                    post.parts[index],
                    in_reply_to_id=posted[-1] if posted else None,
                    media_ids=media_ids if index == 0 and media_ids else None,
                    idempotency_key=key if index == 0 else f"{key}#{index}",
                    **options,
                )
                sending = False
                posted.append(str(status["id"]))
                url = str(status["url"]) if index == 0 else url
                self.threads.save(key, posted)
        except Exception as exc:
            error = classify(exc, self.api, sent=sending)
            if posted:  # say what is already on Mastodon, so nobody posts it by hand
                error.args = (
                    f"{error} (statuses 1-{len(posted)} of {len(post.parts)} are posted; "
                    "a retry continues the thread)",
                )
            raise error from exc
        return self._done(key, posted, url)

    @property
    def comment_rules(self) -> TextRules:
        return self.rules  # a reply is a status like any other, on this instance

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The first comment: a reply to the post's first status, with the post's
        visibility; the Idempotency-Key makes a second send the same reply."""
        try:
            status = self.api.status_post(
                text,
                in_reply_to_id=on.remote_id,
                idempotency_key=key,
                **self._options(OutgoingPost(parts=(text,))),
            )
        except Exception as exc:
            raise classify(exc, self.api, sent=True) from exc
        return Receipt(str(status["id"]), str(status.get("url") or on.url))

    def _media(self, post: OutgoingPost, key: str) -> list[str]:
        """Upload the images once (their ids kept in the delivery's progress), then check
        them at each step until the instance has processed them all."""
        ids = [i for i in post.progress.get("media", "").split(",") if i]
        try:
            if ids:
                ready = [self.api.media(i).get("url") is not None for i in ids]
            else:
                ready = []
                for image in post.images:
                    uploaded = self.api.media_post(
                        image.read(counting.MAX_IMAGE_BYTES),
                        mime_type=f"image/{image.kind}",
                        description=image.alt or None,
                        file_name=image.path.name,
                    )
                    ids.append(str(uploaded["id"]))
                    ready.append(uploaded.get("url") is not None)  # 200: processed, 202: not
        except Exception as exc:
            raise classify(exc, self.api, sent=False) from exc
        if not all(ready):
            raise Pending(
                f"Mastodon is processing {ready.count(False)} of {len(ids)} images",
                timedelta(seconds=self.settings.media_check_seconds),
                {"media": ",".join(ids)},
            )
        return ids

    def _options(self, post: OutgoingPost) -> dict[str, Any]:
        """Visibility, language and content warning: the voice's options over the account's."""
        s = self.settings
        chosen = {
            "visibility": post.meta.get("visibility", s.visibility),
            "language": post.meta.get("language", s.language) or None,
            "spoiler_text": post.meta.get("spoiler_text", s.spoiler_text) or None,
        }
        return {name: value for name, value in chosen.items() if value is not None}

    def _done(self, key: str, posted: list[str], url: str) -> Receipt:
        """The receipt of the first status; its URL is asked for when this call did not
        post it (a thread resumed after a failure)."""
        if not url:
            try:
                url = str(self.api.status(posted[0])["url"])
            except Exception:  # it is posted: a link to the id is better than an error
                url = f"{self.base}/web/statuses/{posted[0]}"
        self.threads.clear(key)
        return Receipt(posted[0], url, parts=tuple(posted))

    measure_batch = 20  # one call per status: any Mastodon version answers it

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        """Favourites, boosts and replies of each status, as the instance counts them
        (Mastodon shows no views, saves or clicks: those stay missing). A status deleted
        since answers 404 and is left out."""
        measured = {}
        for remote in remote_ids:
            try:
                status = self.api.status(remote)
            except MastodonNotFoundError:
                continue
            except Exception as exc:
                raise classify(exc, self.api, sent=False) from exc
            measured[remote] = Engagement(
                likes=number(status.get("favourites_count")),
                reposts=number(status.get("reblogs_count")),
                replies=number(status.get("replies_count")),
            )
        return measured

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        """Find the missing statuses among the account's 40 latest. The instance stores
        HTML, shows links shortened and remote mentions as @user: those are compared without
        tags, links and domains."""
        posted = self.threads.load(key)
        try:
            if self._account_id is None:
                self._account_id = str(self.api.account_verify_credentials()["id"])
            recent = self.api.account_statuses(self._account_id, limit=40)
        except Exception as exc:
            raise classify(exc, self.api, sent=False) from exc
        found = {_comparable(_text(s["content"])): s for s in recent}
        url = ""
        for part in post.parts[len(posted) :]:
            status = found.get(_comparable(part))
            if status is None:
                self.threads.save(key, posted)
                return None
            url = url or (str(status["url"]) if not posted else "")
            posted.append(str(status["id"]))
        return self._done(key, posted, url)


def _text(content: str) -> str:
    """A status's HTML as text: paragraphs and line breaks become spaces, other tags go
    (a link is split in spans that hide its scheme and its end)."""
    return html.unescape(_TAG.sub("", _BREAK.sub(" ", content)))


def _comparable(text: str) -> str:
    return " ".join(_DOMAIN.sub(r"\1", URL.sub(" ", text)).split())

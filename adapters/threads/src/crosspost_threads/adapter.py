"""The Threads adapter: a media container per post, then ``threads_publish``.

Each part of a thread is its own container (text, an image, or a carousel of images) whose
``reply_to_id`` is the part before it. A container with an image is fetched and processed by
Meta first, so `publish` goes one step per call, as Instagram's does: the container is made
and handed to the core as `Pending` progress, then checked until FINISHED and published. A
text container is checked at once and published in the same call when it is ready. Each
published part's id is kept as soon as it is known (`ThreadProgress`), so a retry continues
the thread; the daily publishing quota is read before the first part.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import ClassVar

from crosspost_facebook.graph import GraphClient, GraphSettings
from crosspost_facebook.measures import values_of
from crosspost_facebook.media_urls import public_url
from pydantic import Field

from crosspost.adapter import (
    URL,
    Account,
    Engagement,
    Image,
    Needs,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PermanentError,
    Profile,
    RateLimited,
    Receipt,
    ThreadProgress,
    TransientError,
    require_secrets,
)
from crosspost_threads import counting
from crosspost_threads.token import ThreadsOAuthFlow, TokenKeeper

METRICS = "views,likes,replies,reposts,quotes,shares"


class ThreadsSettings(GraphSettings):
    api_base_url: str = "https://graph.threads.net"
    graph_version: str = Field(default="v1.0", pattern=r"^v\d+\.\d+$")
    threads_user_id: str = Field(default="me", pattern=r"^(\d+|me)$")
    media_base_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    media_root: str = "."  # the local folder that media_base_url serves (config-relative)
    container_wait: float = Field(default=300.0, ge=0, le=3600)
    container_check_seconds: float = Field(default=5.0, gt=0, le=60)  # between status reads


class ThreadsAdapter:
    network: ClassVar[str] = "threads"
    settings_model = ThreadsSettings
    rules = counting.RULES
    comment_rules = counting.RULES  # the first comment is a reply to the post
    clock: Callable[[], float] = staticmethod(time.time)  # wall clock: progress outlives us

    @classmethod
    def needs(cls, settings: ThreadsSettings) -> Needs:
        return Needs(("access_token",), "run: crosspost auth {account}")

    def __init__(self, account: Account[ThreadsSettings]) -> None:
        self.settings = s = account.settings
        self.user = s.threads_user_id
        self.media_root = (account.base_dir / s.media_root).resolve()
        state = account.state_dir / "threads" / account.name
        self.keeper = TokenKeeper(
            s.api_base_url, account.secrets["access_token"], state / "token.json", s.timeout
        )
        self.graph = GraphClient(s, account.secrets["access_token"])
        self.threads = ThreadProgress(state / "threads")

    @classmethod
    def oauth_flow(cls, account: Account[ThreadsSettings]) -> ThreadsOAuthFlow:
        hint = "they are your Threads app's ID and secret (see the Threads README)"
        keys = ("client_id", "client_secret")
        require_secrets("threads", account.name, account.secrets, keys, hint)
        s = account.settings
        return ThreadsOAuthFlow(s.api_base_url, dict(account.secrets), s.timeout)

    def _graph(self) -> GraphClient:
        self.graph.use_token(self.keeper.token())
        return self.graph

    def keep_credentials(self, now: datetime) -> datetime | None:
        return self.keeper.renew(now)

    def verify(self) -> Profile:
        body = self._graph().call("GET", f"/{self.user}", params={"fields": "id,username"})
        return Profile("@" + str(body.get("username") or body.get("id") or self.user))

    def preflight(self, post: OutgoingPost) -> str | None:
        """Every image needs a public URL, and Threads takes at most 5 links a post."""
        try:
            for image in post.images:
                self.public_url(image)
        except PermanentError as exc:
            return str(exc)
        for part in post.parts:
            links = {match.group() for match in URL.finditer(part)}
            if len(links) > counting.MAX_LINKS:
                return f"{len(links)} links in one post; Threads takes at most {counting.MAX_LINKS}"
        return None

    def public_url(self, image: Image) -> str:
        return public_url(image, self.settings.media_base_url, self.media_root, "Threads")

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        problem = self.preflight(post)
        if problem:
            raise PermanentError(problem)
        posted = self.threads.load(key)
        progress = dict(post.progress)
        if progress.get("part") != str(len(posted)):
            progress = {}  # the recorded container was for a part that is published since
        while len(posted) < len(post.parts):
            index = len(posted)
            if "container" not in progress:
                if index == 0:
                    self._check_quota()
                container = self._create(post, index, posted[-1] if posted else None)
                progress = {"container": container, "part": str(index), "since": str(self.clock())}
            status = self._status(progress["container"])
            if status == "PUBLISHED":  # published before, its answer lost
                raise OutcomeUnknown(f"container {progress['container']} is already published")
            if status != "FINISHED":
                self._wait_or_give_up(progress)
            body = self._graph().call(
                "POST",
                f"/{self.user}/threads_publish",
                sent_means_unknown=True,
                data={"creation_id": progress["container"]},
            )
            posted.append(str(body["id"]))
            self.threads.save(key, posted)
            progress = {}
        self.threads.clear(key)
        return Receipt(posted[0], self._permalink(posted[0]), parts=tuple(posted))

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The first comment: a text reply to the post (it needs threads_manage_replies),
        made and published in one call. A reply Threads has not processed yet is not
        published, and a new one is made on the retry (an unpublished container is never
        seen by anyone)."""
        container = self._container(
            {"media_type": "TEXT", "text": text, "reply_to_id": on.remote_id}
        )
        if self._status(container) != "FINISHED":
            raise TransientError("Threads is still processing the reply; it is sent again later")
        body = self._graph().call(
            "POST",
            f"/{self.user}/threads_publish",
            sent_means_unknown=True,
            data={"creation_id": container},
        )
        return Receipt(str(body["id"]), self._permalink(str(body["id"])))

    measure_batch = 10  # one insights call a post

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        """Views, likes, replies, reposts (quotes included) and shares of each post, from its
        insights (threads_manage_insights). A post deleted since is left out; without the
        permission, the whole call is refused (the core reports it once)."""
        measured = {}
        for media_id in remote_ids:
            try:
                body = self._graph().call(
                    "GET", f"/{media_id}/insights", params={"metric": METRICS}
                )
            except PermanentError as exc:
                if "does not exist" in str(exc):
                    continue
                raise
            got = values_of(body)
            reposts = [got.get("reposts"), got.get("quotes"), got.get("shares")]
            measured[media_id] = Engagement(
                likes=got.get("likes"),
                reposts=None if reposts == [None] * 3 else sum(r or 0 for r in reposts),
                replies=got.get("replies"),
                impressions=got.get("views"),
            )
        return measured

    def _create(self, post: OutgoingPost, index: int, reply_to: str | None) -> str:
        data = {"text": post.parts[index]}
        if reply_to:
            data["reply_to_id"] = reply_to
        images = self._images(post) if index == 0 else []
        if len(images) > 1:
            children = [self._container({**_image(url, alt), "is_carousel_item": "true"})
                        for url, alt in images]  # fmt: skip
            data |= {"media_type": "CAROUSEL", "children": ",".join(children)}
        elif images:
            data |= _image(*images[0])
        else:
            data["media_type"] = "TEXT"
            if index == 0 and post.link:
                data["link_attachment"] = post.link
        return self._container(data)

    def _container(self, data: dict[str, str]) -> str:
        return str(self._graph().call("POST", f"/{self.user}/threads", data=data)["id"])

    def _images(self, post: OutgoingPost) -> list[tuple[str, str]]:
        if post.images:
            return [(self.public_url(image), image.alt) for image in post.images]
        if post.meta.get("image_url"):
            return [(post.meta["image_url"], "")]
        return []

    def _status(self, container: str) -> str:
        body = self._graph().call("GET", f"/{container}", params={"fields": "status,error_message"})
        status = str(body.get("status") or "")
        if status in ("ERROR", "EXPIRED"):
            raise PermanentError(
                f"Threads could not use the post (container {status}: "
                f"{body.get('error_message') or 'no detail'}); is every image URL public?"
            )
        return status

    def _wait_or_give_up(self, progress: dict[str, str]) -> None:
        waited = self.clock() - float(progress.get("since") or self.clock())
        if waited + self.settings.container_check_seconds > self.settings.container_wait:
            raise TransientError(
                f"Threads is still processing the post after {self.settings.container_wait:g} "
                "s; the retry will publish it"
            )
        raise Pending(
            "Threads is processing the post",
            timedelta(seconds=self.settings.container_check_seconds),
            progress,
        )

    def _check_quota(self) -> None:
        body = self._graph().call(
            "GET",
            f"/{self.user}/threads_publishing_limit",
            params={"fields": "quota_usage,config"},
        )
        for usage in body.get("data") or []:
            config = usage.get("config") or {}
            total = int(config.get("quota_total") or 250)
            if int(usage.get("quota_usage") or 0) >= total:
                raise RateLimited(
                    f"Threads: {total} posts in 24 hours reached (threads_publishing_limit)",
                    retry_after=timedelta(hours=1),
                )

    def _permalink(self, media_id: str) -> str:
        try:
            body = self._graph().call("GET", f"/{media_id}", params={"fields": "permalink"})
        except Exception:  # published: a missing link must not turn it into a failure
            return f"https://www.threads.net/post/{media_id}"
        return str(body.get("permalink") or f"https://www.threads.net/post/{media_id}")

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        """Find the missing parts among the account's 100 latest posts, by their text. With
        a recorded container for the first missing part, its status must agree: PUBLISHED
        but not listed cannot be settled here (raised: a person decides), since sending it
        again would post it twice."""
        posted = self.threads.load(key)
        body = self._graph().call(
            "GET", f"/{self.user}/threads", params={"fields": "id,text,permalink", "limit": "100"}
        )
        recent = {str(item.get("text") or ""): str(item["id"]) for item in body.get("data") or []}
        for part in post.parts[len(posted) :]:
            found = recent.get(part)
            if found is None:
                self.threads.save(key, posted)
                container = post.progress.get("container")
                recorded = container and post.progress.get("part") == str(len(posted))
                if recorded and self._status(str(container)) == "PUBLISHED":
                    raise TransientError(
                        f"container {container} is published, but no recent post has its text"
                    )
                return None
            posted.append(found)
        self.threads.clear(key)
        return Receipt(posted[0], self._permalink(posted[0]), parts=tuple(posted))


def _image(url: str, alt: str) -> dict[str, str]:
    data = {"media_type": "IMAGE", "image_url": url}
    if alt:
        data["alt_text"] = alt
    return data

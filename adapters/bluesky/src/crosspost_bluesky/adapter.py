"""The Bluesky adapter: posts, reply threads, images with alt text and link cards.

Exactly once: every record's key is derived from the delivery's key (`records.record_key`),
so sending a delivery again names the same record. The PDS then refuses the duplicate
(with a 500 today, an explicit error in newer versions); either way the record is looked up
by its key, and if it is there, the delivery was published.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from crosspost.adapter import (
    Account,
    Engagement,
    Needs,
    OutgoingPost,
    PermanentError,
    Profile,
    PublishError,
    Receipt,
    ThreadProgress,
    number,
)
from crosspost_bluesky import counting, records
from crosspost_bluesky.xrpc import Xrpc, XrpcError, classify

POST = "app.bsky.feed.post"


class BlueskySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    handle: str = Field(pattern=r"^@?[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")  # acme.bsky.social
    service: str = Field(default="https://bsky.social", pattern=r"^https?://[^\s/]+")  # the PDS
    language: str = Field(default="", pattern=r"^([a-z]{2,3}(-[A-Za-z0-9]+)?)?$")
    timeout: float = Field(default=30.0, gt=0)


class BlueskyAdapter:
    network: ClassVar[str] = "bluesky"
    settings_model = BlueskySettings
    rules = counting.RULES
    comment_rules = counting.RULES  # the first comment is a reply to the post
    idempotent = True  # the record key comes from the delivery: a second send is refused

    @classmethod
    def needs(cls, settings: BlueskySettings) -> Needs:
        return Needs(
            ("app_password",), "create one under Settings > Privacy and security > App passwords"
        )

    def __init__(self, account: Account[BlueskySettings]) -> None:
        self.settings = account.settings
        self.handle = account.settings.handle.lstrip("@").lower()
        state = account.state_dir / "bluesky" / account.name
        self.xrpc = Xrpc(
            account.settings.service,
            self.handle,
            account.secrets["app_password"],
            state / "session.json",
            account.settings.timeout,
        )
        self.threads = ThreadProgress(state / "threads")

    @contextmanager
    def _classified(self) -> Iterator[None]:
        try:
            yield
        except XrpcError as exc:
            raise classify(exc) from exc

    def verify(self) -> Profile:
        with self._classified():
            answer = self.xrpc.call("GET", "com.atproto.server.getSession")
        return Profile("@" + str(answer.get("handle") or self.handle))

    def preflight(self, post: OutgoingPost) -> str | None:
        if post.link and len(post.images) == 1 and post.images[0].size > counting.MAX_IMAGE_BYTES:
            return f"{post.images[0].path.name} is over 1 MB, the limit of a link card's image"
        return None

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        posted = self.threads.load(key)  # "uri cid" of each part already published
        try:
            with self._classified():
                embed = None if posted else self._embed(post)
                for index in range(len(posted), len(post.parts)):
                    record = self._record(post.parts[index], embed if index == 0 else None, posted)
                    posted.append(self._create(records.record_key(f"{key}#{index}"), record))
                    self.threads.save(key, posted)
        except PublishError as error:
            if posted:  # say what is already on Bluesky, so nobody posts it by hand
                error.args = (
                    f"{error} (posts 1-{len(posted)} of {len(post.parts)} are published; "
                    "a retry continues the thread)",
                )
            raise
        self.threads.clear(key)
        return self._receipt(posted[0], posted)

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The first comment: a reply to the post, under a record key made from `key`, so
        sending it twice finds the first one instead of making a second."""
        rkey = on.remote_id.rsplit("/", 1)[-1]
        with self._classified():
            root = self._existing(rkey)
            if root is None:
                raise PermanentError(f"the post {on.remote_id} is no longer on Bluesky")
            record = self._record(text, None, [root])
            reply = self._create(records.record_key(key), record)
        return self._receipt(reply)

    def _record(self, text: str, embed: dict[str, Any] | None, posted: list[str]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": POST,
            "text": text,
            "createdAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        found = records.facets(text, self._resolve)
        if found:
            record["facets"] = found
        if self.settings.language:
            record["langs"] = [self.settings.language]
        if embed is not None:
            record["embed"] = embed
        if posted:
            root, parent = (_ref(posted[0]), _ref(posted[-1]))
            record["reply"] = {"root": root, "parent": parent}
        return record

    def _create(self, rkey: str, record: dict[str, Any]) -> str:
        body = {"repo": self.xrpc.did, "collection": POST, "rkey": rkey, "record": record}
        try:
            answer = self.xrpc.call(
                "POST", "com.atproto.repo.createRecord", json=body, publishes=True
            )
        except XrpcError as exc:
            if exc.status < 500 and exc.name not in ("RecordAlreadyExists", "InvalidSwap"):
                raise
            existing = self._existing(rkey)  # a 500 may be "this key already exists"
            if existing is None:
                raise
            return existing
        return f"{answer['uri']} {answer['cid']}"

    def _existing(self, rkey: str) -> str | None:
        """'uri cid' of this account's post `rkey`, or None when there is none."""
        params = {"repo": self.xrpc.did, "collection": POST, "rkey": rkey}
        try:
            answer = self.xrpc.call("GET", "com.atproto.repo.getRecord", params=params)
        except XrpcError as exc:
            if exc.name == "RecordNotFound" or (exc.status == 400 and "not found" in str(exc)):
                return None
            raise
        return f"{answer['uri']} {answer['cid']}"

    def _embed(self, post: OutgoingPost) -> dict[str, Any] | None:
        """A link card for the post's link (with its one image as the thumbnail), or the
        images (several images and a link: the link stays clickable in the text)."""
        if len(post.images) > counting.MAX_IMAGES:
            raise PermanentError(f"Bluesky takes up to 4 images; this post has {len(post.images)}")
        blobs = [(self._upload(image), image.alt) for image in post.images]
        if post.link and len(blobs) <= 1:
            thumb = blobs[0][0] if blobs else None
            description = post.meta.get("description", "")
            return records.external(post.link, post.title, description, thumb)
        return records.images(blobs) if blobs else None

    def _upload(self, image: Any) -> Any:
        data = image.read(counting.MAX_IMAGE_BYTES)
        answer = self.xrpc.call(
            "POST",
            "com.atproto.repo.uploadBlob",
            content=data,
            headers={"Content-Type": f"image/{image.kind}"},
        )
        return answer["blob"]

    def _resolve(self, handle: str) -> str | None:
        try:
            answer = self.xrpc.call(
                "GET", "com.atproto.identity.resolveHandle", params={"handle": handle}
            )
        except XrpcError as exc:
            if exc.status == 400:  # no such handle: the mention stays plain text
                return None
            raise
        return str(answer.get("did") or "") or None

    def _receipt(self, first: str, posted: Sequence[str] = ()) -> Receipt:
        uri = first.split()[0]
        rkey = uri.rsplit("/", 1)[1]
        parts = tuple(part.split()[0] for part in posted)
        return Receipt(uri, f"https://bsky.app/profile/{self.handle}/post/{rkey}", parts=parts)

    measure_batch = 25  # app.bsky.feed.getPosts takes up to 25 uris

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        """Likes, reposts (quotes included) and replies of each post, from the AppView
        through the PDS (`getPosts`); Bluesky shows no views, saves or clicks. A deleted
        post is simply not in the answer."""
        with self._classified():
            answer = self.xrpc.call(
                "GET", "app.bsky.feed.getPosts", params={"uris": list(remote_ids)}
            )
        measured = {}
        for found in answer.get("posts") or []:
            reposts = [number(found.get(k)) for k in ("repostCount", "quoteCount")]
            measured[str(found["uri"])] = Engagement(
                likes=number(found.get("likeCount")),
                reposts=None if reposts == [None, None] else sum(r or 0 for r in reposts),
                replies=number(found.get("replyCount")),
            )
        return measured

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        """Look each part up by its record key: exact, and it works for old posts too."""
        posted = self.threads.load(key)
        with self._classified():
            for index in range(len(posted), len(post.parts)):
                found = self._existing(records.record_key(f"{key}#{index}"))
                if found is None:
                    self.threads.save(key, posted)
                    return None
                posted.append(found)
        self.threads.clear(key)
        return self._receipt(posted[0], posted)


def _ref(posted: str) -> dict[str, str]:
    uri, cid = posted.split()
    return {"uri": uri, "cid": cid}

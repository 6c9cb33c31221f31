"""The Instagram adapter (a professional account linked to a Facebook Page, Graph API):
create a container, wait until Instagram has fetched the image, then `media_publish`.

Instagram fetches each image itself from a public URL; it takes no upload. A calendar image
is a local file, so the account says where the same files are served: an image at
``{media_root}/img/bread.jpg`` is fetched from ``{media_base_url}/img/bread.jpg``. A blog
item's image already has its URL.

Publishing takes steps, and none of them waits: the container is made, then handed to the
core as `Pending` progress; the core records it, frees the account's lane, and calls again
every `poll_every` seconds until Instagram says FINISHED, then the container is published. A
restart resumes with the recorded container (reconcile asks the container's status), so a
kill during the wait neither loses the post nor makes a second one. After `container_wait`
(30 s by default) the wait becomes a transient error: the core's retries ask again later,
with the same container.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import ClassVar

from pydantic import Field

from crosspost.adapter import (
    Account,
    Engagement,
    Image,
    Needs,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PermanentError,
    Profile,
    PublishError,
    Receipt,
    TextRules,
    TransientError,
    number,
)
from crosspost_facebook.graph import GraphClient, GraphSettings
from crosspost_facebook.measures import insights, read_many
from crosspost_facebook.media_urls import public_url
from crosspost_facebook.oauth import MetaOAuthFlow, flow_for

MAX_CAPTION = 2200


class InstagramSettings(GraphSettings):
    ig_user_id: str = Field(pattern=r"^\d+$")
    media_base_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    media_root: str = "."  # the local folder that media_base_url serves (config-relative)
    container_wait: float = Field(default=30.0, ge=0, le=120)


class InstagramAdapter:
    network: ClassVar[str] = "instagram"
    rules = TextRules(
        limit=MAX_CAPTION,
        counting="chars",
        max_hashtags=30,
        max_mentions=20,
        max_images=10,
        needs_image=True,
        image_types=frozenset({"jpeg"}),  # Instagram's content publishing takes JPEG only
        max_image_bytes=8 * 1024 * 1024,
    )
    # A comment has the caption's limits, and no image of its own.
    comment_rules = TextRules(limit=MAX_CAPTION, counting="chars", max_hashtags=30, max_mentions=20)
    poll_every = 2.0  # how soon the core asks again while Instagram processes the media
    clock: Callable[[], float] = staticmethod(time.time)  # wall clock: progress outlives us

    settings_model = InstagramSettings

    @classmethod
    def needs(cls, settings: InstagramSettings) -> Needs:
        return Needs(
            ("page_access_token",), "it is the linked Page's token; run: crosspost auth {account}"
        )

    def __init__(self, account: Account[InstagramSettings]) -> None:
        self.settings = account.settings
        self.media_root = (account.base_dir / account.settings.media_root).resolve()
        self.graph = GraphClient(account.settings, account.secrets["page_access_token"])

    @classmethod
    def oauth_flow(cls, account: Account[InstagramSettings]) -> MetaOAuthFlow:
        settings = account.settings
        return flow_for(account.name, settings, dict(account.secrets), "", settings.ig_user_id)

    def verify(self) -> Profile:
        body = self.graph.call("GET", f"/{self.settings.ig_user_id}", params={"fields": "username"})
        return Profile("@" + str(body.get("username") or self.settings.ig_user_id))

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        """One step per call: make the container(s), then, once Instagram has fetched the
        media, publish. Between steps `Pending` hands the container to the core, which
        records it and calls again, so nothing here waits and a restart resumes."""
        progress = dict(post.progress)
        if "container" not in progress:
            if len(self._image_urls(post)) > 1 and "children" not in progress:
                children = self._create_children(post)
                raise self._wait("carousel items made", children=",".join(children))
            if "children" in progress:
                self._check_ready(progress["children"].split(","), progress)
                container = self._create_carousel(post, progress["children"])
            else:
                container = self._create_single(post)
            raise self._wait("container made", **progress, container=container)
        container = progress["container"]
        if self._check_ready([container], progress) == "PUBLISHED":
            found = self._find_caption("\n\n".join(post.parts))  # an earlier publish went
            if found is None:
                raise OutcomeUnknown(f"container {container} is published, but not found")
            return found
        body = self.graph.call(
            "POST",
            f"/{self.settings.ig_user_id}/media_publish",
            sent_means_unknown=True,
            data={"creation_id": container},
        )
        media_id = str(body["id"])
        return Receipt(media_id, *self._permalink(media_id))

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The first comment: `POST /{ig-media-id}/comments` (it needs
        instagram_manage_comments); it lives on the post's page."""
        body = self.graph.call(
            "POST", f"/{on.remote_id}/comments", data={"message": text}, sent_means_unknown=True
        )
        return Receipt(str(body["id"]), on.url)

    measure_batch = 25  # the counts in one call, then one insights call a media

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        """Likes and comments of each media (instagram_basic), and its views, saves and
        shares when the token may read insights (instagram_manage_insights)."""
        counts = read_many(self.graph, remote_ids, "like_count,comments_count")
        measured = {}
        for media_id, node in counts.items():
            insight = insights(self.graph, media_id, "views,saved,shares")
            measured[media_id] = Engagement(
                likes=number(node.get("like_count")),
                replies=number(node.get("comments_count")),
                reposts=insight.get("shares"),
                impressions=insight.get("views"),
                saves=insight.get("saved"),
            )
        return measured

    def _wait(self, message: str, **progress: str) -> Pending:
        progress.setdefault("since", str(self.clock()))
        return Pending(message, timedelta(seconds=self.poll_every), progress)

    def _image_urls(self, post: OutgoingPost) -> list[tuple[str, str]]:
        if post.images:
            return [(self.public_url(image), image.alt) for image in post.images]
        if post.meta.get("image_url"):
            return [(post.meta["image_url"], "")]
        raise PermanentError("Instagram publishes nothing without an image")

    def preflight(self, post: OutgoingPost) -> str | None:
        """Every calendar image needs a public URL: say so at `check`, not at 9:00."""
        try:
            for image in post.images:
                self.public_url(image)
        except PermanentError as exc:
            return str(exc)
        return None

    def public_url(self, image: Image) -> str:
        return public_url(image, self.settings.media_base_url, self.media_root, "Instagram")

    def _create_single(self, post: OutgoingPost) -> str:
        [(url, alt)] = self._image_urls(post)
        data = {"image_url": url, "caption": "\n\n".join(post.parts)}
        if alt:
            data["alt_text"] = alt
        return str(self.graph.call("POST", f"/{self.settings.ig_user_id}/media", data=data)["id"])

    def _create_children(self, post: OutgoingPost) -> list[str]:
        children = []
        for url, alt in self._image_urls(post):
            data = {"image_url": url, "is_carousel_item": "true"}
            if alt:
                data["alt_text"] = alt
            user = self.settings.ig_user_id
            children.append(str(self.graph.call("POST", f"/{user}/media", data=data)["id"]))
        return children

    def _create_carousel(self, post: OutgoingPost, children: str) -> str:
        caption = "\n\n".join(post.parts)
        data = {"media_type": "CAROUSEL", "children": children, "caption": caption}
        return str(self.graph.call("POST", f"/{self.settings.ig_user_id}/media", data=data)["id"])

    def _check_ready(self, containers: list[str], progress: dict[str, str]) -> str:
        """FINISHED (or PUBLISHED) for every container, else `Pending` while
        `container_wait` lasts, then a TransientError: the core's retry asks again later,
        with the same containers."""
        statuses = []
        for container in containers:
            body = self.graph.call("GET", f"/{container}", params={"fields": "status_code,status"})
            status = str(body.get("status_code") or "")
            if status in ("ERROR", "EXPIRED"):
                raise PermanentError(
                    f"Instagram could not use the media (container {status}: "
                    f"{body.get('status') or 'no detail'}); is every image URL public?"
                )
            statuses.append(status)
        if all(status in ("FINISHED", "PUBLISHED") for status in statuses):
            return "PUBLISHED" if "PUBLISHED" in statuses else "FINISHED"
        waited = self.clock() - float(progress.get("since") or self.clock())
        if waited + self.poll_every > self.settings.container_wait:
            raise TransientError(
                f"Instagram is still processing the media after "
                f"{self.settings.container_wait:g} s; the retry will publish it"
            )
        raise self._wait("Instagram is processing the media", **progress)

    def _permalink(self, media_id: str) -> tuple[str, str]:
        """(the post's permalink, "") or ("", why not): asked twice, since the post is
        already published and a missing link must not turn it into a failure."""
        why = ""
        for _ in range(2):
            try:
                body = self.graph.call("GET", f"/{media_id}", params={"fields": "permalink"})
            except PublishError as exc:
                why = str(exc)
                continue
            if body.get("permalink"):
                return str(body["permalink"]), ""
            why = "the answer had no permalink"
        return "", (
            f"published as Instagram media {media_id}, but its permalink could not be read "
            f"({why}); the post is on the account's profile"
        )

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        """Look for the caption among the account's 10 most recent media. With a recorded
        container, its status must agree: a PUBLISHED container whose media is not listed
        cannot be settled here (raised: a person decides); one not published, and no such
        caption, means the post is certainly not out, and publishing resumes with it."""
        found = self._find_caption("\n\n".join(post.parts))
        container = post.progress.get("container")
        if found is None and container:
            body = self.graph.call("GET", f"/{container}", params={"fields": "status_code"})
            if body.get("status_code") == "PUBLISHED":
                raise TransientError(
                    f"container {container} is published, but no recent media has its caption"
                )
        return found

    def _find_caption(self, wanted: str) -> Receipt | None:
        body = self.graph.call(
            "GET",
            f"/{self.settings.ig_user_id}/media",
            params={"fields": "id,caption,permalink", "limit": "10"},
        )
        for media in body.get("data", []):
            if media.get("caption") == wanted:
                return Receipt(str(media["id"]), str(media.get("permalink") or ""))
        return None

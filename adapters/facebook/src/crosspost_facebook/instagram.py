"""The Instagram adapter (a professional account linked to a Facebook Page, Graph API):
create a container, wait until Instagram has fetched the image, then `media_publish`.

Instagram fetches each image itself from a public URL; it takes no upload. A calendar image
is a local file, so the account says where the same files are served: an image at
``{media_root}/img/bread.jpg`` is fetched from ``{media_base_url}/img/bread.jpg``. A blog
item's image already has its URL.

Waiting for the container is part of publishing, so it is bounded (`container_wait`, 30 s by
default). A container still not ready after that is kept for the delivery and the error is
transient: the core's retry picks the same container up instead of creating another one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import Field

from crosspost.adapter import (
    AdapterContext,
    Image,
    OutgoingPost,
    PermanentError,
    Profile,
    PublishError,
    Receipt,
    TextRules,
    TransientError,
    parse_settings,
    require_secrets,
)
from crosspost_facebook.graph import GraphClient, GraphSettings
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
    poll_every = 2.0
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # tests drive a fake clock
    monotonic: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(
        self,
        account: str,
        settings: dict[str, Any],
        secrets: dict[str, str],
        context: AdapterContext,
    ) -> None:
        parsed = parse_settings(InstagramSettings, settings, "instagram")
        require_secrets(
            "instagram",
            account,
            secrets,
            ["page_access_token"],
            f"it is the linked Page's token; run: crosspost auth {account}",
        )
        self.settings = parsed
        self.media_root = (context.base_dir / parsed.media_root).resolve()
        self.graph = GraphClient(parsed, secrets["page_access_token"])
        self._containers: dict[str, str] = {}  # delivery key -> container awaiting a retry

    @classmethod
    def oauth_flow(
        cls, account: str, settings: dict[str, Any], secrets: dict[str, str]
    ) -> MetaOAuthFlow:
        parsed = parse_settings(InstagramSettings, settings, "instagram")
        return flow_for(account, parsed, secrets, "", parsed.ig_user_id)

    def verify(self) -> Profile:
        body = self.graph.call("GET", f"/{self.settings.ig_user_id}", params={"fields": "username"})
        return Profile("@" + str(body.get("username") or self.settings.ig_user_id))

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        caption = "\n\n".join(post.parts)
        container = self._containers.get(key) or self._create(post, caption)
        self._containers[key] = container
        try:
            self._wait_until_ready(container)
            body = self.graph.call(
                "POST",
                f"/{self.settings.ig_user_id}/media_publish",
                sent_means_unknown=True,
                data={"creation_id": container},
            )
        except TransientError:
            raise  # keep the container: the retry publishes it
        except PublishError:
            self._containers.pop(key, None)
            raise
        self._containers.pop(key, None)
        media_id = str(body["id"])
        return Receipt(media_id, *self._permalink(media_id))

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
        """Where Instagram can fetch a calendar image: media_base_url + its path under
        media_root."""
        if not self.settings.media_base_url:
            raise PermanentError(
                "set media_base_url on the Instagram account: Instagram fetches images from a "
                "public URL and cannot take a local file"
            )
        try:
            relative = image.path.resolve().relative_to(self.media_root).as_posix()
        except ValueError:
            raise PermanentError(
                f"{image.path} is not under media_root ({self.media_root}), so it has no "
                "public URL; move it there or change media_root"
            ) from None
        return self.settings.media_base_url.rstrip("/") + "/" + quote(relative)

    def _create(self, post: OutgoingPost, caption: str) -> str:
        user = self.settings.ig_user_id
        images = self._image_urls(post)
        if len(images) == 1:
            url, alt = images[0]
            data = {"image_url": url, "caption": caption, **({"alt_text": alt} if alt else {})}
            return str(self.graph.call("POST", f"/{user}/media", data=data)["id"])
        children = []
        for url, alt in images:
            data = {"image_url": url, "is_carousel_item": "true"}
            if alt:
                data["alt_text"] = alt
            children.append(str(self.graph.call("POST", f"/{user}/media", data=data)["id"]))
        for child in children:
            self._wait_until_ready(child)
        data = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": caption}
        return str(self.graph.call("POST", f"/{user}/media", data=data)["id"])

    def _wait_until_ready(self, container: str) -> None:
        """Poll the container's status_code until FINISHED, for at most `container_wait`."""
        deadline = self.monotonic() + self.settings.container_wait
        while True:
            body = self.graph.call("GET", f"/{container}", params={"fields": "status_code,status"})
            status = body.get("status_code")
            if status in ("FINISHED", "PUBLISHED"):
                return
            if status in ("ERROR", "EXPIRED"):
                raise PermanentError(
                    f"Instagram could not use the media (container {status}: "
                    f"{body.get('status') or 'no detail'}); is every image URL public?"
                )
            if self.monotonic() + self.poll_every > deadline:
                raise TransientError(
                    f"Instagram is still processing the media after "
                    f"{self.settings.container_wait:g} s; the retry will publish it"
                )
            self.sleep(self.poll_every)

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
        """Look for the caption among the account's 10 most recent media."""
        body = self.graph.call(
            "GET",
            f"/{self.settings.ig_user_id}/media",
            params={"fields": "id,caption,permalink", "limit": "10"},
        )
        wanted = "\n\n".join(post.parts)
        for media in body.get("data", []):
            if media.get("caption") == wanted:
                return Receipt(str(media["id"]), str(media.get("permalink") or ""))
        return None

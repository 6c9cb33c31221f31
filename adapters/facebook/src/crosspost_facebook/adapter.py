"""The Facebook Page adapter: `/{page-id}/feed` for text and links, `/{page-id}/photos` for
images (with alt text), errors classified from Graph's error codes and usage headers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import ClassVar

from pydantic import Field

from crosspost.adapter import (
    Account,
    Engagement,
    Image,
    MediaError,
    Needs,
    OutgoingPost,
    PermanentError,
    Profile,
    Receipt,
    TextRules,
    number,
)
from crosspost_facebook.graph import GraphClient, GraphSettings
from crosspost_facebook.measures import read_many, summary, values_of
from crosspost_facebook.oauth import MetaOAuthFlow, flow_for

COUNT_FIELDS = (
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
)
INSIGHT_FIELDS = "insights.metric(post_impressions,post_clicks)"
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # Meta recommends under 4 MB; larger ones are refused


class FacebookSettings(GraphSettings):
    page_id: str = Field(pattern=r"^\d+$")


class FacebookPageAdapter:
    network: ClassVar[str] = "facebook"
    # Meta lists JPEG, BMP, PNG, GIF and TIFF; crosspost recognises JPEG, PNG and GIF of those.
    rules = TextRules(
        limit=63206,
        counting="chars",
        image_types=frozenset({"jpeg", "png", "gif"}),
        max_image_bytes=MAX_PHOTO_BYTES,
    )

    comment_rules = TextRules(limit=8000, counting="chars")  # Meta's limit for a comment

    settings_model = FacebookSettings

    @classmethod
    def needs(cls, settings: FacebookSettings) -> Needs:
        return Needs(("page_access_token",), "run: crosspost auth {account}")

    def __init__(self, account: Account[FacebookSettings]) -> None:
        self.settings = account.settings
        self.graph = GraphClient(account.settings, account.secrets["page_access_token"])
        self._call = self.graph.call

    @classmethod
    def oauth_flow(cls, account: Account[FacebookSettings]) -> MetaOAuthFlow:
        return flow_for(
            account.name, account.settings, dict(account.secrets), account.settings.page_id, ""
        )

    def verify(self) -> Profile:
        body = self._call("GET", f"/{self.settings.page_id}", params={"fields": "name"})
        return Profile(str(body.get("name") or self.settings.page_id))

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        message = "\n\n".join(post.parts)
        page = self.settings.page_id
        if len(post.images) == 1:
            image = post.images[0]
            body = self._call(
                "POST",
                f"/{page}/photos",
                sent_means_unknown=True,
                data={"message": message, "alt_text_custom": image.alt},
                files={"source": (image.path.name, _read(image))},
            )
            post_id = str(body.get("post_id") or body["id"])
        else:
            data: dict[str, str] = {"message": message}
            if post.link:
                data["link"] = post.link
            for index, image in enumerate(post.images):  # several: upload unpublished, attach
                uploaded = self._call(
                    "POST",
                    f"/{page}/photos",
                    data={"published": "false", "alt_text_custom": image.alt},
                    files={"source": (image.path.name, _read(image))},
                )
                data[f"attached_media[{index}]"] = json.dumps({"media_fbid": uploaded["id"]})
            post_id = str(
                self._call("POST", f"/{page}/feed", data=data, sent_means_unknown=True)["id"]
            )
        return Receipt(post_id, f"https://www.facebook.com/{post_id}")

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The Page's first comment: `POST /{post-id}/comments` with the Page's token (it
        needs pages_manage_engagement)."""
        body = self._call(
            "POST", f"/{on.remote_id}/comments", data={"message": text}, sent_means_unknown=True
        )
        comment_id = str(body["id"])
        return Receipt(comment_id, f"{on.url}?comment_id={comment_id.rsplit('_', 1)[-1]}")

    measure_batch = 50  # Graph takes up to 50 ids in one call

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        """Reactions, comments and shares of each post (the Page token reads them), and its
        impressions and clicks when the token may read insights (read_insights)."""
        counts = read_many(self.graph, remote_ids, COUNT_FIELDS)
        try:
            seen = read_many(self.graph, list(counts), INSIGHT_FIELDS) if counts else {}
        except PermanentError:  # no read_insights: impressions and clicks stay missing
            seen = {}
        measured = {}
        for post_id, node in counts.items():
            insight = values_of((seen.get(post_id) or {}).get("insights") or {})
            reactions = summary(node.get("reactions"))
            # Graph leaves `shares` out of a post nobody shared: a post it read has 0.
            shares = node.get("shares")
            read = "reactions" in node
            measured[post_id] = Engagement(
                likes=reactions,
                reposts=number(shares.get("count")) if shares else (0 if read else None),
                replies=summary(node.get("comments")),
                impressions=insight.get("post_impressions"),
                clicks=insight.get("post_clicks"),
            )
        return measured

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        """Look for the message among the Page's 10 most recent posts."""
        body = self._call(
            "GET", f"/{self.settings.page_id}/posts", params={"fields": "id,message", "limit": "10"}
        )
        wanted = "\n\n".join(post.parts)
        for element in body.get("data", []):
            if element.get("message") == wanted:
                return Receipt(str(element["id"]), f"https://www.facebook.com/{element['id']}")
        return None


def _read(image: Image) -> bytes:
    try:
        return image.read(MAX_PHOTO_BYTES)
    except MediaError as exc:
        raise PermanentError(str(exc)) from exc

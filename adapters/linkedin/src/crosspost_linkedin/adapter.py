"""The LinkedIn adapter: build from config (no I/O), verify, publish, reconcile."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field

from crosspost.adapter import (
    Account,
    AuthError,
    Engagement,
    Image,
    MediaError,
    Needs,
    OutcomeUnknown,
    OutgoingPost,
    PermanentError,
    Profile,
    PublishError,
    RateLimited,
    Receipt,
    TextRules,
    TransientError,
    number,
    require_secrets,
    transport_error,
)
from crosspost_linkedin.little import escape, to_plain
from crosspost_linkedin.oauth import LinkedInOAuthFlow

DEFAULT_VERSION = "202610"  # LinkedIn-Version: YYYYMM; LinkedIn answers 426 once it is sunset


class LinkedInSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    author: str = Field(pattern=r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
    api_base_url: str = "https://api.linkedin.com"
    oauth_base_url: str = "https://www.linkedin.com"  # where `crosspost auth` gets tokens
    version: str = Field(default=DEFAULT_VERSION, pattern=r"^\d{6}$")
    timeout: float = Field(default=20.0, gt=0)


class LinkedInAdapter:
    network: ClassVar[str] = "linkedin"
    rules = TextRules(limit=3000, counting="chars", image_types=frozenset({"jpeg", "png", "gif"}))
    comment_rules = TextRules(limit=1250, counting="chars")  # LinkedIn's limit for a comment

    settings_model = LinkedInSettings

    @classmethod
    def needs(cls, settings: LinkedInSettings) -> Needs:
        return Needs(("access_token",), "run: crosspost auth {account}")

    def __init__(self, account: Account[LinkedInSettings]) -> None:
        self.settings = parsed = account.settings
        self._token = account.secrets["access_token"]
        self.base = parsed.api_base_url.rstrip("/")

    @classmethod
    def oauth_flow(cls, account: Account[LinkedInSettings]) -> LinkedInOAuthFlow:
        require_secrets(
            "linkedin",
            account.name,
            account.secrets,
            ["client_id", "client_secret"],
            "your app's Auth tab shows them",
        )
        settings = account.settings
        return LinkedInOAuthFlow(settings.oauth_base_url, settings.author, dict(account.secrets))

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self._token}",
            "LinkedIn-Version": self.settings.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    @cached_property
    def _http(self) -> httpx.Client:
        """One client for the adapter's life, made at the first request (building does no
        I/O): a client per request costs about 25 ms of CPU, for its TLS context."""
        return httpx.Client()

    def _call(
        self, method: str, path: str, *, sent_means_unknown: bool = False, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self._http.request(
                method,
                self.base + path,
                headers=self._headers(),
                timeout=self.settings.timeout,
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, "LinkedIn", write=sent_means_unknown) from exc
        _raise_for(response)
        return response

    def verify(self) -> Profile:
        kind, _, ident = self.settings.author.removeprefix("urn:li:").partition(":")
        if kind == "organization":
            body = self._call("GET", f"/rest/organizations/{ident}").json()
            return Profile(str(body.get("localizedName") or self.settings.author))
        body = self._call("GET", "/v2/userinfo").json()
        return Profile(str(body.get("name") or body.get("sub") or self.settings.author))

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        commentary = escape("\n\n".join(post.parts))
        body: dict[str, Any] = {
            "author": self.settings.author,
            "commentary": commentary,
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        images = [(self._upload(_read(image)), image.alt) for image in post.images]
        if len(images) == 1:
            body["content"] = {"media": {"id": images[0][0], "altText": images[0][1]}}
        elif images:
            body["content"] = {
                "multiImage": {"images": [{"id": i, "altText": a} for i, a in images]}
            }
        elif post.link:
            body["content"] = {"article": {"source": post.link, "title": post.title or post.link}}
        response = self._call("POST", "/rest/posts", json=body, sent_means_unknown=True)
        urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id", "")
        if not urn:
            raise OutcomeUnknown("LinkedIn accepted the post but returned no id")
        return Receipt(urn, post_url(urn), self._read_back(urn, commentary))

    def _read_back(self, urn: str, sent: str) -> str:
        """Compare what LinkedIn stored with what was sent: LinkedIn answers 201 even when it
        cuts the text at a character it did not expect. Returns the difference, if any."""
        try:
            stored = self._call("GET", f"/rest/posts/{quote(urn, safe='')}").json()
        except (PublishError, ValueError):
            return ""  # it was published; a failed read says nothing about its text
        if not isinstance(stored, dict) or not isinstance(stored.get("commentary"), str):
            return ""
        kept, wanted = to_plain(stored["commentary"]), to_plain(sent)
        if kept == wanted:
            return ""
        return (
            f"LinkedIn stored {len(kept)} of the {len(wanted)} characters sent; its text ends "
            f"with {kept[-40:]!r} instead of {wanted[-40:]!r}. Edit the post on LinkedIn, or "
            "delete it and run crosspost retry"
        )

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The author's first comment, through the Comments API (socialActions), with the
        permission the post used (w_organization_social or w_member_social)."""
        urn = on.remote_id
        body = {"actor": self.settings.author, "object": urn, "message": {"text": text}}
        response = self._call(
            "POST",
            f"/rest/socialActions/{quote(urn, safe='')}/comments",
            json=body,
            sent_means_unknown=True,
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        found = answer.get("commentUrn") or answer.get("$URN") if isinstance(answer, dict) else ""
        comment = str(found or response.headers.get("x-restli-id") or "")
        if not comment:
            raise OutcomeUnknown("LinkedIn accepted the comment but returned no id")
        return Receipt(comment, on.url)

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        """Look for the post among the author's 10 most recent (needs r_*_social)."""
        author = quote(self.settings.author, safe="")
        found = self._call("GET", f"/rest/posts?q=author&author={author}&count=10").json()
        wanted = "\n\n".join(post.parts)
        for element in found.get("elements", []):
            text = element.get("commentary")
            if isinstance(text, str) and to_plain(text) == wanted and element.get("id"):
                return Receipt(str(element["id"]), post_url(str(element["id"])))
        return None

    measure_batch = 20

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        """An organization's posts: the share statistics (impressions, clicks, likes,
        comments, shares; r_organization_social). A member's: likes and comments from
        socialActions (r_member_social, which LinkedIn grants to few apps: without it the
        call is refused, and reported once)."""
        kind = self.settings.author.split(":")[2]
        if kind == "organization":
            return self._share_statistics(remote_ids)
        listed = ",".join(quote(urn, safe="") for urn in remote_ids)
        body = self._call("GET", f"/rest/socialActions?ids=List({listed})").json()
        measured = {}
        for urn, found in (body.get("results") or {}).items():
            measured[str(urn)] = Engagement(
                likes=number((found.get("likesSummary") or {}).get("totalLikes")),
                replies=number((found.get("commentsSummary") or {}).get("aggregatedTotalComments")),
            )
        return measured

    def _share_statistics(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        by_kind: dict[str, list[str]] = {"shares": [], "ugcPosts": []}
        for urn in remote_ids:
            by_kind["ugcPosts" if ":ugcPost:" in urn else "shares"].append(quote(urn, safe=""))
        lists = "".join(f"&{k}=List({','.join(v)})" for k, v in by_kind.items() if v)
        org = quote(self.settings.author, safe="")
        path = "/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        body = self._call("GET", f"{path}&organizationalEntity={org}{lists}").json()
        measured = {}
        for element in body.get("elements") or []:
            urn = element.get("share") or element.get("ugcPost")
            stats = element.get("totalShareStatistics") or {}
            if urn:
                measured[str(urn)] = Engagement(
                    likes=number(stats.get("likeCount")),
                    reposts=number(stats.get("shareCount")),
                    replies=number(stats.get("commentCount")),
                    impressions=number(stats.get("impressionCount")),
                    clicks=number(stats.get("clickCount")),
                )
        return measured

    def _upload(self, data: bytes) -> str:
        """Images API: initializeUpload, then PUT the bytes; returns the image URN."""
        init = self._call(
            "POST",
            "/rest/images?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": self.settings.author}},
        )
        value = init.json()["value"]
        try:
            put = httpx.put(
                value["uploadUrl"],
                content=data,
                timeout=self.settings.timeout,
                headers={"Authorization": f"Bearer {self._token}"},
            )
        except httpx.HTTPError as exc:  # an image uploaded twice is harmless: not a write
            raise transport_error(exc, "LinkedIn's image upload", write=False) from exc
        _raise_for(put)
        return str(value["image"])


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _read(image: Image) -> bytes:
    try:
        return image.read()
    except MediaError as exc:
        raise PermanentError(str(exc)) from exc


def _raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    try:
        message = str(response.json().get("message", ""))
    except ValueError:
        message = response.text[:200]
    reason = f"LinkedIn {status}: {message or response.reason_phrase}"
    if status == 401:
        raise AuthError(reason + " (token expired or revoked: run `crosspost auth`)")
    if status == 429:
        retry = response.headers.get("retry-after")
        wait = timedelta(seconds=int(retry)) if retry and retry.isdigit() else None
        raise RateLimited(reason, retry_after=wait)
    if status == 426:
        raise PermanentError(
            reason + "; the LinkedIn-Version is no longer served: set a newer "
            '`version = "YYYYMM"` on the account'
        )
    if status >= 500:
        raise TransientError(reason)
    raise PermanentError(reason)

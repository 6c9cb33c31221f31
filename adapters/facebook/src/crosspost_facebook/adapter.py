"""The Facebook Page adapter: `/{page-id}/feed` for text and links, `/{page-id}/photos` for
images (with alt text), errors classified from Graph's error codes and usage headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from crosspost.adapters import (
    AdapterConfigError,
    AdapterContext,
    AuthError,
    OutcomeUnknown,
    OutgoingPost,
    PermanentError,
    PublishError,
    RateLimited,
    Receipt,
    TransientError,
    parse_settings,
)
from crosspost.textrules import TextRules

DEFAULT_VERSION = "v23.0"
RATE_LIMIT_CODES = {4, 17, 32, 613}
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")


class FacebookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_id: str = Field(pattern=r"^\d+$")
    api_base_url: str = "https://graph.facebook.com"
    graph_version: str = Field(default=DEFAULT_VERSION, pattern=r"^v\d+\.\d+$")
    timeout: float = Field(default=30.0, gt=0)


class FacebookPageAdapter:
    network: ClassVar[str] = "facebook"
    rules = TextRules(limit=63206, counting="chars")

    def __init__(
        self,
        account: str,
        settings: dict[str, Any],
        secrets: dict[str, str],
        context: AdapterContext,
    ) -> None:
        parsed = parse_settings(FacebookSettings, settings, "facebook")
        if "page_access_token" not in secrets:
            raise AdapterConfigError(
                "network",
                f"facebook: no page_access_token for {account!r} "
                f"in the secrets file ([accounts.{account}])",
            )
        self.settings = parsed
        self._token = secrets["page_access_token"]
        self.root = f"{parsed.api_base_url.rstrip('/')}/{parsed.graph_version}"

    def _call(
        self, method: str, path: str, *, sent_means_unknown: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response = httpx.request(
                method,
                self.root + path,
                timeout=self.settings.timeout,
                headers={"Authorization": f"Bearer {self._token}"},
                **kwargs,
            )
        except httpx.ConnectError as exc:
            raise TransientError(f"cannot connect to Graph API: {exc}") from exc
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError) as exc:
            error = OutcomeUnknown if sent_means_unknown else TransientError
            raise error(f"no answer from Graph API ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or "error" in body:
            raise classify(response.status_code, body, response.headers)
        return body

    def verify(self) -> str:
        body = self._call("GET", f"/{self.settings.page_id}", params={"fields": "name"})
        return str(body.get("name") or self.settings.page_id)

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
                files={"source": (image.path.name, image.path.read_bytes())},
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
                    files={"source": (image.path.name, image.path.read_bytes())},
                )
                data[f"attached_media[{index}]"] = json.dumps({"media_fbid": uploaded["id"]})
            post_id = str(
                self._call("POST", f"/{page}/feed", data=data, sent_means_unknown=True)["id"]
            )
        return Receipt(post_id, f"https://www.facebook.com/{post_id}")

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


def classify(status: int, body: dict[str, Any], headers: httpx.Headers) -> PublishError:
    """Graph's error object (code, subcode, message) and usage headers to our error classes."""
    error = body.get("error") or {}
    code = int(error.get("code") or 0)
    reason = f"Graph API {status}, code {code}: {error.get('message') or 'no message'}"
    if code == 190 or status == 401:
        return AuthError(reason + " (the Page token expired or was revoked)")
    if code in RATE_LIMIT_CODES or status == 429:
        return RateLimited(reason, _regain_access(headers))
    if code == 506:
        return PermanentError(reason + " (duplicate post)")
    if code in (1, 2) or status >= 500 or error.get("is_transient"):
        return TransientError(reason)
    if code == 10 or 200 <= code <= 299:
        return PermanentError(reason + " (missing permission: see the adapter README)")
    return PermanentError(reason)


def _regain_access(headers: httpx.Headers) -> datetime | None:
    """`estimated_time_to_regain_access` (minutes) from Meta's usage headers, if any."""
    minutes = 0
    for name in USAGE_HEADERS:
        raw = headers.get(name)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        entries = (
            [e for v in usage.values() for e in v]
            if isinstance(usage, dict) and all(isinstance(v, list) for v in usage.values())
            else [usage]
        )
        for entry in entries:
            if isinstance(entry, dict):
                minutes = max(minutes, int(entry.get("estimated_time_to_regain_access") or 0))
    return datetime.now(UTC) + timedelta(minutes=minutes) if minutes else None

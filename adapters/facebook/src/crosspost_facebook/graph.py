"""The Graph API over httpx, shared by the Facebook Page and Instagram adapters: one call
helper that maps httpx's exceptions and Graph's error objects to crosspost's error classes.

facebook-sdk 3.1.0 (2018) rejects every current Graph API version and hides status codes and
headers, so this thin client is used instead (see README.md).
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cached_property
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field

from crosspost.adapter import (
    AuthError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    transport_error,
)

DEFAULT_VERSION = "v23.0"
RATE_LIMIT_CODES = {4, 9, 17, 32, 613}  # 9: Instagram's 100 posts a day
USAGE_HEADERS = ("x-business-use-case-usage", "x-page-usage", "x-app-usage")


class GraphSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_base_url: str = "https://graph.facebook.com"
    graph_version: str = Field(default=DEFAULT_VERSION, pattern=r"^v\d+\.\d+$")
    timeout: float = Field(default=30.0, gt=0)


class GraphClient:
    """Calls `{api_base_url}/{graph_version}{path}` with the token as a bearer header."""

    def __init__(self, settings: GraphSettings, token: str) -> None:
        self.settings = settings
        self._token = token
        self.root = f"{settings.api_base_url.rstrip('/')}/{settings.graph_version}"

    def use_token(self, token: str) -> None:
        """Call with this token from now on (Threads refreshes its own)."""
        self._token = token

    @cached_property
    def _http(self) -> httpx.Client:
        """One client for the adapter's life, made at the first request (building does no
        I/O): a client per request costs about 25 ms of CPU, for its TLS context."""
        return httpx.Client()

    def call(
        self, method: str, path: str, *, sent_means_unknown: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        try:
            response = self._http.request(
                method,
                self.root + path,
                timeout=self.settings.timeout,
                headers={"Authorization": f"Bearer {self._token}"} if self._token else {},
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, "the Graph API", write=sent_means_unknown) from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or "error" in body:
            raise classify(response.status_code, body, response.headers)
        return body


def classify(status: int, body: dict[str, Any], headers: httpx.Headers) -> PublishError:
    """Graph's error object (code, subcode, message) and usage headers to our error classes."""
    error = body.get("error") or {}
    code = int(error.get("code") or 0)
    reason = f"Graph API {status}, code {code}: {error.get('message') or 'no message'}"
    if code == 190 or status == 401:
        return AuthError(reason + " (the access token expired or was revoked)")
    if code in RATE_LIMIT_CODES or status == 429:
        return RateLimited(reason, retry_after=_regain_access(headers))
    if code == 506:
        return PermanentError(reason + " (duplicate post)")
    if code in (1, 2) or status >= 500 or error.get("is_transient"):
        return TransientError(reason)
    if code == 10 or 200 <= code <= 299:
        return PermanentError(reason + " (missing permission: see the adapter README)")
    return PermanentError(reason)


def _regain_access(headers: httpx.Headers) -> timedelta | None:
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
    return timedelta(minutes=minutes) if minutes else None

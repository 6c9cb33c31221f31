"""A small HTTP network used by the core's tests: real requests over a local socket.

It lets the core's retry, pause and in_doubt paths run against real HTTP failures
(500, 429 with a reset time, 401, 400, a read timeout) answered by `ScriptedServer`.
The test config declares it as a local adapter file, in its ``[adapters]`` table:
``testnet = ".../netadapter.py:HttpTestAdapter"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from crosspost.adapter import (
    Account,
    AuthError,
    Engagement,
    Needs,
    OutgoingPost,
    PermanentError,
    Profile,
    RateLimited,
    Receipt,
    TransientError,
    transport_error,
)
from crosspost.render.textrules import TextRules


class TestNetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_base_url: str
    limit: int = 500
    timeout: float = 2.0


class HttpTestAdapter:
    network: ClassVar[str] = "testnet"

    settings_model = TestNetSettings

    @classmethod
    def needs(cls, settings: TestNetSettings) -> Needs:
        return Needs(("token",), "it is the test network's token")

    def __init__(self, account: Account[TestNetSettings]) -> None:
        self.base = account.settings.api_base_url.rstrip("/")
        self.token = account.secrets["token"]
        self.rules = TextRules(limit=account.settings.limit, threads=True)
        self.timeout = account.settings.timeout

    @cached_property
    def _http(self) -> httpx.Client:
        """One client for the adapter's life, made at the first request (building does no
        I/O): a client per request costs about 25 ms of CPU, for its TLS context."""
        return httpx.Client()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(
                method,
                self.base + path,
                timeout=self.timeout,
                headers={"Authorization": f"Bearer {self.token}"},
                **kwargs,
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, "testnet", write=method == "POST") from exc
        if response.status_code == 429:
            reset = response.headers.get("x-rate-limit-reset")
            when = datetime.fromtimestamp(int(reset), UTC) if reset else None
            raise RateLimited("rate limited", when)
        if response.status_code >= 500:
            raise TransientError(f"server error {response.status_code}")
        if response.status_code == 401:
            raise AuthError("token expired or revoked")
        if response.status_code >= 400:
            raise PermanentError(response.text or f"HTTP {response.status_code}")
        return response

    def verify(self) -> Profile:
        return Profile(str(self._call("GET", "/me").json()["handle"]))

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        body = self._call("POST", "/posts", json={"parts": list(post.parts), "key": key}).json()
        return Receipt(str(body["id"]), str(body["url"]))

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        try:
            body = self._call("GET", "/posts/by-key/" + quote(key, safe="")).json()
        except PermanentError:  # 404: not there
            return None
        return Receipt(str(body["id"]), str(body["url"]))


class CommentingTestAdapter(HttpTestAdapter):
    """The test network with first comments: POST /posts/{id}/comments adds one (at most
    100 characters, so a too-long comment can be tested); GET /metrics?ids=… answers the
    numbers of up to 3 posts."""

    network: ClassVar[str] = "commentnet"
    comment_rules = TextRules(limit=100)

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        body = self._call("POST", f"/posts/{on.remote_id}/comments", json={"text": text}).json()
        return Receipt(str(body["id"]), str(body["url"]))

    measure_batch = 3

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        ids = ",".join(remote_ids)
        body = self._call("GET", f"/metrics?ids={ids}").json()
        return {key: Engagement(**values) for key, values in body["data"].items()}


class KeyedCommentingTestAdapter(CommentingTestAdapter):
    """The commenting test network with an idempotency key that it forgets after a while,
    as Mastodon does after an hour: a comment whose answer was lost may be sent again only
    within `idempotent_for`."""

    network: ClassVar[str] = "keynet"
    idempotent = True
    idempotent_for = 3300.0

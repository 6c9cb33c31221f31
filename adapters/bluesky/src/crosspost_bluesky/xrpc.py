"""XRPC calls to the account's PDS with a kept session, and Bluesky's errors classified.

Logins (`com.atproto.server.createSession`) are rate-limited per account (30 in 5 minutes,
300 a day), so the session is kept in the state dir (mode 0600) and refreshed with its
refresh token when the access token expires (`ExpiredToken`); a new login happens only when
there is no session or the refresh token is refused too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import httpx

from crosspost.adapter import (
    AuthError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    keep_secret,
    transport_error,
    write_private,
)

EXPIRED = {"ExpiredToken", "InvalidToken"}


class XrpcError(Exception):
    """An XRPC error answer: its status and Bluesky's error name, for the caller to judge."""

    def __init__(self, status: int, body: dict[str, Any], headers: httpx.Headers) -> None:
        self.status, self.name = status, str(body.get("error") or "")
        self.message = str(body.get("message") or "")
        self.headers = headers
        super().__init__(f"Bluesky {status} {self.name}: {self.message}".strip())


class Xrpc:
    def __init__(
        self, service: str, identifier: str, password: str, session_file: Path, timeout: float
    ) -> None:
        self.base = service.rstrip("/") + "/xrpc/"
        self.identifier, self._password = identifier, password
        self.session_file, self.timeout = session_file, timeout
        self._session: dict[str, str] | None = None

    @cached_property
    def _http(self) -> httpx.Client:
        return httpx.Client()  # one per account, made at the first call

    @property
    def did(self) -> str:
        return self.session()["did"]

    def session(self) -> dict[str, str]:
        """The kept session (read from the state dir), or a new login."""
        if self._session is None:
            try:
                kept = json.loads(self.session_file.read_text())
                if kept.get("identifier") == self.identifier and kept.get("accessJwt"):
                    self._session = {k: str(v) for k, v in kept.items()}
                    keep_secret(self._session["accessJwt"], self._session["refreshJwt"])
            except (OSError, ValueError, KeyError):
                pass
        if self._session is None:
            self._keep(self._raw("POST", "com.atproto.server.createSession", json={
                "identifier": self.identifier, "password": self._password,
            }))  # fmt: skip
        assert self._session is not None
        return self._session

    def _keep(self, answer: dict[str, Any]) -> None:
        session = {
            "identifier": self.identifier,
            "did": str(answer["did"]),
            "handle": str(answer.get("handle") or self.identifier),
            "accessJwt": str(answer["accessJwt"]),
            "refreshJwt": str(answer["refreshJwt"]),
        }
        keep_secret(session["accessJwt"], session["refreshJwt"])
        self._session = session
        write_private(self.session_file, json.dumps(session))

    def call(
        self, method: str, nsid: str, *, publishes: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        """One authenticated call; an expired access token is refreshed (or the account
        logged in again) and the call made once more: it was refused, so nothing happened."""
        for attempt in range(3):
            token = self.session()["accessJwt"]
            try:
                return self._raw(method, nsid, token=token, publishes=publishes, **kwargs)
            except XrpcError as exc:
                if exc.name not in EXPIRED or attempt == 2:
                    raise
                self._renew()
        raise AssertionError("unreachable")

    def _renew(self) -> None:
        assert self._session is not None
        try:
            token = self._session["refreshJwt"]
            self._keep(self._raw("POST", "com.atproto.server.refreshSession", token=token))
        except XrpcError as exc:
            if exc.name not in EXPIRED:
                raise
            self._session = None  # the refresh token is gone too: log in again
            self.session_file.unlink(missing_ok=True)

    def _raw(
        self, method: str, nsid: str, *, token: str = "", publishes: bool = False, **kwargs: Any
    ) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = self._http.request(
                method, self.base + nsid, headers=headers, timeout=self.timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, "Bluesky", write=publishes) from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if response.status_code >= 400:
            raise XrpcError(response.status_code, body, response.headers)
        return body


def classify(exc: XrpcError) -> PublishError:
    """Bluesky's error answer as crosspost's error class."""
    reason = str(exc)
    if exc.status == 429 or exc.name == "RateLimitExceeded":
        reset = exc.headers.get("ratelimit-reset")
        when = datetime.fromtimestamp(int(reset), UTC) if reset and reset.isdigit() else None
        return RateLimited(reason, reset_at=when)
    if exc.status == 401 or exc.name in EXPIRED | {"AccountTakedown", "AuthFactorTokenRequired"}:
        return AuthError(reason + " (check handle and app_password: see the Bluesky README)")
    if exc.status >= 500:
        return TransientError(reason)
    return PermanentError(reason)

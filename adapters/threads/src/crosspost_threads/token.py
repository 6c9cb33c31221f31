"""The Threads access token: got by `crosspost auth`, kept alive by the adapter.

Meta's flow: the person approves the app on threads.net, the code becomes a short-lived
token (1 hour), and that becomes a long-lived one (60 days). A long-lived token at least a
day old can be refreshed (``th_refresh_token``) for another 60 days, so the adapter refreshes
it once fewer than 30 days remain, and keeps the new one in the state dir (mode 0600). A token
from the secrets file that differs from the one the state was made from (a new
`crosspost auth`) replaces the state.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from crosspost_facebook.graph import classify

from crosspost.adapter import Tokens, keep_secret, transport_error, write_private

SCOPES = "threads_basic,threads_content_publish,threads_manage_replies,threads_manage_insights"
REFRESH_WHEN_LEFT = timedelta(days=30)


def _call(base: str, path: str, timeout: float, **params: str) -> dict[str, Any]:
    """A call to one of Threads' unversioned token endpoints."""
    try:
        response = httpx.get(base.rstrip("/") + path, params=params, timeout=timeout)
    except httpx.HTTPError as exc:
        raise transport_error(exc, "Threads", write=False) from exc
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or "error" in body:
        raise classify(response.status_code, body, response.headers)
    return body


class TokenKeeper:
    def __init__(self, base: str, token: str, state: Path, timeout: float) -> None:
        self.base, self.timeout, self.state = base, timeout, state
        self._given = token
        self._lock = threading.Lock()  # the daily renewal runs beside the account's lane

    def _from(self) -> str:
        return hashlib.sha256(self._given.encode()).hexdigest()[:16]

    def _kept(self) -> dict[str, str] | None:
        try:
            kept = json.loads(self.state.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(kept, dict) or kept.get("from") != self._from():
            return None
        keep_secret(str(kept["access_token"]))
        return {str(k): str(v) for k, v in kept.items()}

    def token(self) -> str:
        kept = self._kept()
        return kept["access_token"] if kept else self._given

    def expires_at(self) -> datetime | None:
        kept = self._kept()
        return datetime.fromisoformat(kept["expires_at"]) if kept else None

    def renew(self, now: datetime) -> datetime | None:
        """Refresh the token if fewer than 30 days remain (or its age is unknown and it is
        the secrets file's); returns when the token in use expires, if known."""
        with self._lock:
            expires = self.expires_at()
            if expires is not None and expires - now > REFRESH_WHEN_LEFT:
                return expires
            body = _call(
                self.base,
                "/refresh_access_token",
                self.timeout,
                grant_type="th_refresh_token",
                access_token=self.token(),
            )
            token = str(body["access_token"])
            keep_secret(token)
            until = now + timedelta(seconds=int(body.get("expires_in") or 5_184_000))
            record = {"access_token": token, "expires_at": until.isoformat(), "from": self._from()}
            write_private(self.state, json.dumps(record))
            return until


class ThreadsOAuthFlow:
    def __init__(self, base: str, secrets: dict[str, str], timeout: float) -> None:
        self.base, self.timeout = base, timeout
        self.app_id = secrets["client_id"]
        self.app_secret = secrets["client_secret"]
        self.instructions = (
            "In Meta's app dashboard, create an app with the 'Access the Threads API' use "
            "case, add the redirect URI below under Threads > Settings > Redirect Callback "
            "URLs, and add the Threads account as a tester if the app is not live. client_id "
            "is the Threads app ID, client_secret the Threads app secret. Permissions asked: "
            f"{SCOPES}. Log in as the Threads account that will post."
        )

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        query = {
            "client_id": self.app_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "response_type": "code",
            "state": state,
        }
        return f"https://threads.net/oauth/authorize?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> Tokens:
        try:
            response = httpx.post(
                self.base.rstrip("/") + "/oauth/access_token",
                data={
                    "client_id": self.app_id,
                    "client_secret": self.app_secret,
                    "grant_type": "authorization_code",
                    "redirect_uri": redirect_uri,
                    "code": code,
                },
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, "Threads", write=False) from exc
        short = response.json() if response.content else {}
        if response.status_code >= 400 or "error" in short:
            raise classify(response.status_code, short, response.headers)
        long = _call(
            self.base,
            "/access_token",
            self.timeout,
            grant_type="th_exchange_token",
            client_secret=self.app_secret,
            access_token=str(short["access_token"]),
        )
        seconds = int(long.get("expires_in") or 5_184_000)
        return Tokens(
            {
                "access_token": str(long["access_token"]),
                "client_id": self.app_id,
                "client_secret": self.app_secret,
            },
            expires_at={"access_token": datetime.now(UTC) + timedelta(seconds=seconds)},
        )

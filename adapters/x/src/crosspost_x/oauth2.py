"""OAuth 2.0 for X: the `crosspost auth` walk-through (PKCE) and access-token refresh.

X's access tokens last two hours and its refresh tokens are single-use: each refresh returns
a new refresh token and the old one stops working. So the new pair is written to disk (a
0600 file under the state directory, replaced atomically) *before* the new access token is
used, under a lock so that two processes on this machine never spend the same refresh token.
The secrets file keeps the refresh token `crosspost auth` got; the state file remembers which
one it grew from, so authorizing again starts a fresh chain.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from crosspost.adapter import (
    AuthError,
    Tokens,
    TransientError,
    keep_secret,
    pkce_pair,
    write_private,
)

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN_URL = "https://api.x.com/2/oauth2/token"
SCOPES = "tweet.read tweet.write users.read media.write offline.access"
EARLY = timedelta(minutes=5)  # refresh this long before the access token expires


class TokenKeeper:
    """Hands out a valid access token, refreshing (and storing the new pair) when due."""

    def __init__(
        self, session: requests.Session, secrets: dict[str, str], state_file: Path
    ) -> None:
        self.session = session
        self.client_id = secrets["client_id"]
        self.client_secret = secrets.get("client_secret")
        self.seed = secrets["refresh_token"]
        self.state_file = state_file

    def access_token(self) -> str:
        """A valid access token; every token seen is handed to the log redactor first."""
        state = self._read()
        if state and _still_valid(state):
            return str(state["access_token"])
        with self._locked():
            state = self._read()  # another process may have refreshed while we waited
            if state and _still_valid(state):
                return str(state["access_token"])
            refresh = str(state["refresh_token"]) if state else self.seed
            answer = self._post({"grant_type": "refresh_token", "refresh_token": refresh})
            new_state = {
                "origin": _digest(self.seed),
                "access_token": answer["access_token"],
                "refresh_token": answer.get("refresh_token", refresh),
                "expires_at": time.time() + float(answer.get("expires_in", 7200)),
            }
            write_private(self.state_file, json.dumps(new_state))  # stored before it is used
            keep_secret(str(new_state["access_token"]), str(new_state["refresh_token"]))
            return str(new_state["access_token"])

    def _read(self) -> dict[str, Any] | None:
        try:
            state: dict[str, Any] = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        keep_secret(*(str(state.get(key, "")) for key in ("access_token", "refresh_token")))
        return state if state.get("origin") == _digest(self.seed) else None

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.state_file.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _post(self, data: dict[str, str]) -> dict[str, Any]:
        return token_request(self.session, self.client_id, self.client_secret, data)


def token_request(
    session: requests.Session, client_id: str, client_secret: str | None, data: dict[str, str]
) -> dict[str, Any]:
    """POST to X's token endpoint: Basic auth for confidential clients, client_id otherwise."""
    auth = (client_id, client_secret) if client_secret else None
    try:
        response = session.post(TOKEN_URL, data={**data, "client_id": client_id}, auth=auth)
    except requests.RequestException as exc:
        raise TransientError(f"cannot reach X's token endpoint ({type(exc).__name__})") from exc
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code in (400, 401) or "error" in body:
        why = body.get("error_description") or body.get("error") or response.status_code
        raise AuthError(f"X refused the token request ({why}); run: crosspost auth ACCOUNT")
    if response.status_code >= 300 or "access_token" not in body:
        raise TransientError(f"X's token endpoint answered {response.status_code}")
    return body


class XOAuthFlow:
    """Authorization code with PKCE, as X requires for OAuth 2.0 user tokens."""

    instructions = (
        "In the X developer portal, open your app > User authentication settings: enable "
        "OAuth 2.0, type 'Web App' (confidential: put client_secret in the secrets file) or "
        "'Native App' (public), permissions 'Read and write', and add the redirect URI "
        "below as a Callback URI. Scopes asked: " + SCOPES + "."
    )

    def __init__(self, session: requests.Session, secrets: dict[str, str]) -> None:
        self.session = session
        self.client_id = secrets["client_id"]
        self.client_secret = secrets.get("client_secret")
        self.verifier, self.challenge = pkce_pair()

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
        }
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> Tokens:
        body = token_request(
            self.session,
            self.client_id,
            self.client_secret,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": self.verifier,
            },
        )
        if "refresh_token" not in body:
            raise AuthError("X gave no refresh token: the offline.access scope is needed")
        return Tokens({"refresh_token": str(body["refresh_token"])})


def _still_valid(state: dict[str, Any]) -> bool:
    expires = datetime.fromtimestamp(float(state.get("expires_at", 0)), UTC)
    return expires - EARLY > datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]

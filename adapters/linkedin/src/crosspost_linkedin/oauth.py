"""`crosspost auth` for LinkedIn: the 3-legged OAuth 2.0 flow (authorization code).

LinkedIn's access tokens last 60 days (`expires_in` says so); refresh tokens are given only
to approved partner apps, so the usual renewal is to run `crosspost auth` again, which the
7-day warning of `crosspost check` prompts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from crosspost.adapter import AuthError, Tokens, TransientError

MEMBER_SCOPES = "openid profile w_member_social r_member_social"
ORGANIZATION_SCOPES = "w_organization_social r_organization_social rw_organization_admin"


class LinkedInOAuthFlow:
    def __init__(self, oauth_base_url: str, author: str, secrets: dict[str, str]) -> None:
        self.base = oauth_base_url.rstrip("/")
        self.client_id = secrets["client_id"]
        self.client_secret = secrets["client_secret"]
        organization = author.startswith("urn:li:organization:")
        self.scopes = ORGANIZATION_SCOPES if organization else MEMBER_SCOPES
        self.instructions = (
            "In LinkedIn's developer portal, open your app: under Products add "
            + (
                "'Community Management API' (a page admin must approve the app)"
                if organization
                else "'Share on LinkedIn' and 'Sign In with LinkedIn using OpenID Connect'"
            )
            + "; under Auth, add the redirect URI below. Scopes asked: "
            + self.scopes
            + "."
        )

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": self.scopes,
        }
        return f"{self.base}/oauth/v2/authorization?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> Tokens:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        try:
            response = httpx.post(f"{self.base}/oauth/v2/accessToken", data=form, timeout=30)
        except httpx.HTTPError as exc:
            raise TransientError(f"cannot reach LinkedIn ({type(exc).__name__})") from exc
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            why = body.get("error_description") or body.get("error") or response.status_code
            raise AuthError(f"LinkedIn refused the code: {why}")
        now = datetime.now(UTC)
        secrets = {"access_token": str(body["access_token"])}
        expires = {"access_token": now + timedelta(seconds=int(body.get("expires_in", 0)))}
        if body.get("refresh_token"):  # approved partner apps only
            secrets["refresh_token"] = str(body["refresh_token"])
            seconds = int(body.get("refresh_token_expires_in", 0))
            expires["refresh_token"] = now + timedelta(seconds=seconds)
        return Tokens(secrets, expires)

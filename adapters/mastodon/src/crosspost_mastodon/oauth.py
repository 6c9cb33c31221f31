"""`crosspost auth` for a Mastodon account: register the app on the instance, then OAuth.

Mastodon apps are registered per instance (``POST /api/v1/apps``), so the flow registers
one named "crosspost" with the redirect URI the core uses, unless the secrets file already
has a `client_id` and `client_secret` for it. Mastodon's access tokens do not expire.
"""

from __future__ import annotations

import requests
from mastodon import Mastodon

from crosspost.adapter import Tokens

SCOPES = ["read", "write:statuses", "write:media"]


class MastodonOAuthFlow:
    def __init__(self, api_base_url: str, secrets: dict[str, str]) -> None:
        self.base = api_base_url.rstrip("/")
        self.client_id = secrets.get("client_id", "")
        self.client_secret = secrets.get("client_secret", "")
        self.session = requests.Session()
        self.instructions = (
            f"crosspost registers an app named 'crosspost' on {self.base} (unless the "
            "secrets file has its client_id and client_secret already) and asks for the "
            f"scopes {' '.join(SCOPES)}. Log in as the account that will post."
        )

    def _api(self) -> Mastodon:
        return Mastodon(
            client_id=self.client_id,
            client_secret=self.client_secret,
            api_base_url=self.base,
            session=self.session,
            mastodon_version="4.0.0",
            version_check_mode="created",  # checks calls against 4.0, never asks
        )

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        if not (self.client_id and self.client_secret):
            self.client_id, self.client_secret = Mastodon.create_app(
                "crosspost",
                scopes=SCOPES,
                redirect_uris=redirect_uri,
                api_base_url=self.base,
                session=self.session,
            )
        return self._api().auth_request_url(
            redirect_uris=redirect_uri,
            scopes=SCOPES,
            state=state,
            skip_server_info=True,
            allow_http=self.base.startswith("http://"),
        )

    def exchange(self, code: str, redirect_uri: str) -> Tokens:
        token = self._api().log_in(
            code=code,
            redirect_uri=redirect_uri,
            scopes=SCOPES,
            allow_http=self.base.startswith("http://"),
        )
        return Tokens(
            {
                "access_token": token,
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        )

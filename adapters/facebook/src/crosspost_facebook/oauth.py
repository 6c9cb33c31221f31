"""`crosspost auth` for a Facebook Page or an Instagram account linked to one.

Meta's flow (Facebook Login for Business): the person approves the app, the code becomes a
short-lived user token, that becomes a long-lived user token (60 days), and the Page token
read with it (``/me/accounts``) does not expire. The Page token is what both adapters use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from crosspost.adapter import PermanentError, Tokens, require_secrets
from crosspost_facebook.graph import GraphClient, GraphSettings

PAGE_SCOPES = (
    "pages_show_list,pages_manage_posts,pages_read_engagement,pages_manage_engagement,read_insights"
)
INSTAGRAM_SCOPES = (
    PAGE_SCOPES
    + ",instagram_basic,instagram_content_publish,instagram_manage_comments"
    + ",instagram_manage_insights,business_management"
)


class MetaOAuthFlow:
    def __init__(
        self, settings: GraphSettings, secrets: dict[str, str], page_id: str, ig_user_id: str
    ) -> None:
        self.settings = settings
        self.app_id = secrets["client_id"]
        self.app_secret = secrets["client_secret"]
        self.page_id, self.ig_user_id = page_id, ig_user_id
        self.scopes = INSTAGRAM_SCOPES if ig_user_id else PAGE_SCOPES
        self.instructions = (
            "In Meta's app dashboard (an app of type Business), add 'Facebook Login for "
            "Business' and put the redirect URI below under Valid OAuth Redirect URIs. "
            "client_id is the App ID, client_secret the App secret (App settings > Basic). "
            f"Permissions asked: {self.scopes}. Log in as an admin of the Page."
        )

    def authorization_url(self, redirect_uri: str, state: str) -> str:
        query = {
            "client_id": self.app_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": self.scopes,
            "response_type": "code",
        }
        version = self.settings.graph_version
        return f"https://www.facebook.com/{version}/dialog/oauth?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> Tokens:
        app = GraphClient(self.settings, "")
        app_keys = {"client_id": self.app_id, "client_secret": self.app_secret}
        short = app.call(
            "GET",
            "/oauth/access_token",
            params={**app_keys, "redirect_uri": redirect_uri, "code": code},
        )
        long = app.call(
            "GET",
            "/oauth/access_token",
            params={
                **app_keys,
                "grant_type": "fb_exchange_token",
                "fb_exchange_token": str(short["access_token"]),
            },
        )
        user = GraphClient(self.settings, str(long["access_token"]))
        pages = user.call(
            "GET",
            "/me/accounts",
            params={"fields": "id,name,access_token,instagram_business_account"},
        )
        for page in pages.get("data", []):
            linked: dict[str, Any] = page.get("instagram_business_account") or {}
            if page.get("id") == self.page_id or (
                self.ig_user_id and linked.get("id") == self.ig_user_id
            ):
                return Tokens({"page_access_token": str(page["access_token"])})
        wanted = (
            f"Instagram account {self.ig_user_id}" if self.ig_user_id else f"Page {self.page_id}"
        )
        names = ", ".join(f"{p.get('name')} ({p.get('id')})" for p in pages.get("data", []))
        raise PermanentError(
            f"the person who approved manages no {wanted}; pages they manage: {names or 'none'}"
        )


def flow_for(
    account: str, settings: GraphSettings, secrets: dict[str, str], page_id: str, ig_user_id: str
) -> MetaOAuthFlow:
    require_secrets(
        "meta",
        account,
        secrets,
        ["client_id", "client_secret"],
        "they are your Meta app's App ID and App secret (App settings > Basic)",
    )
    return MetaOAuthFlow(settings, secrets, page_id, ig_user_id)

"""The X adapter: posts and reply-chain threads with tweepy's v2 client, images through the
v2 media upload, OAuth 1.0a user tokens or OAuth 2.0 with refresh.

A thread is several tweets. Each tweet's id is written under the state directory as soon as
X returns it, so a retry after a failure in the middle continues the chain instead of posting
its first tweets again (X would refuse them as duplicates anyway).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import requests
import tweepy
from pydantic import BaseModel, ConfigDict, Field

from crosspost.adapter import (
    URL,
    Account,
    Engagement,
    Needs,
    OutgoingPost,
    PermanentError,
    Profile,
    PublishError,
    Receipt,
    ThreadProgress,
    number,
    require_secrets,
)
from crosspost_x import counting, media, session
from crosspost_x.oauth2 import TokenKeeper, XOAuthFlow

OAUTH1_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
OAUTH2_KEYS = ("client_id", "refresh_token")
MAX_IMAGES = 4


class XSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auth: Literal["oauth1", "oauth2"] = "oauth1"
    api_base_url: str = session.DEFAULT_BASE
    timeout: float = Field(default=30.0, gt=0)


def status_url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"


class XAdapter:
    network: ClassVar[str] = "x"
    rules = counting.RULES  # X counts weighted characters: see `counting`
    comment_rules = counting.RULES  # the first comment is a reply to the first tweet

    settings_model = XSettings

    @classmethod
    def needs(cls, settings: XSettings) -> Needs:
        if settings.auth == "oauth2":
            return Needs(
                OAUTH2_KEYS,
                "oauth2: see the X adapter's README, then run: crosspost auth {account}",
                key="auth",
            )
        return Needs(OAUTH1_KEYS, "oauth1: see the X adapter's README", key="auth")

    def __init__(self, account: Account[XSettings]) -> None:
        self.settings = parsed = account.settings
        secrets = dict(account.secrets)
        self.oauth1 = parsed.auth == "oauth1"
        self._secrets = secrets
        if self.oauth1:
            self.client = tweepy.Client(
                **{key: secrets[key] for key in OAUTH1_KEYS}, return_type=dict
            )
        else:
            self.client = tweepy.Client(return_type=dict)
        session.mount(self.client.session, parsed.api_base_url, parsed.timeout)
        state = account.state_dir / "x" / account.name
        self.threads = ThreadProgress(state / "threads")
        self.keeper = (
            None if self.oauth1 else TokenKeeper(self.client.session, secrets, state / "token.json")
        )
        self._user_id: str | None = None

    @classmethod
    def oauth_flow(cls, account: Account[XSettings]) -> XOAuthFlow:
        require_secrets(
            "x",
            account.name,
            account.secrets,
            ["client_id"],
            "it is your app's OAuth 2.0 Client ID",
            key="auth",
        )
        http = requests.Session()
        session.mount(http, account.settings.api_base_url, account.settings.timeout)
        return XOAuthFlow(http, dict(account.secrets))

    def _auth(self) -> tuple[Any, dict[str, str]]:
        """Credentials for this call: (requests auth, headers); refreshes OAuth 2.0 if due."""
        if self.keeper is None:
            handler = tweepy.OAuth1UserHandler(*(self._secrets[key] for key in OAUTH1_KEYS))
            return handler.apply_auth(), {}
        token = self.keeper.access_token()
        self.client.bearer_token = token
        return None, {"Authorization": f"Bearer {token}"}

    def verify(self) -> Profile:
        self._auth()
        try:
            me = self.client.get_me(user_auth=self.oauth1)
        except Exception as exc:
            raise session.classify(exc, sent=False) from exc
        self._user_id = str(me["data"]["id"])
        return Profile("@" + str(me["data"]["username"]))

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        if len(post.images) > MAX_IMAGES:
            raise PermanentError(
                f"X takes up to {MAX_IMAGES} images; this post has {len(post.images)}"
            )
        posted = self.threads.load(key)
        sending = False
        try:
            auth, headers = self._auth()
            media_ids = None
            if not posted and post.images:
                media_ids = [media.upload_image(self.client, auth, headers, i) for i in post.images]
            for index in range(len(posted), len(post.parts)):
                sending = True
                tweet = self.client.create_tweet(
                    text=post.parts[index],
                    media_ids=media_ids if index == 0 else None,
                    in_reply_to_tweet_id=posted[-1] if posted else None,
                    user_auth=self.oauth1,
                )
                sending = False
                posted.append(str(tweet["data"]["id"]))
                self.threads.save(key, posted)
        except Exception as exc:
            error = exc if isinstance(exc, PublishError) else session.classify(exc, sent=sending)
            if posted:  # say what is already on X, so nobody posts it by hand
                error.args = (
                    f"{error} (tweets 1-{len(posted)} of {len(post.parts)} are posted, "
                    f"from {status_url(posted[0])}; a retry continues the thread)",
                )
            if error is exc:
                raise
            raise error from exc
        self.threads.clear(key)
        return Receipt(posted[0], status_url(posted[0]), parts=tuple(posted))

    def comment(self, on: Receipt, text: str, key: str) -> Receipt:
        """The first comment, as a reply to the post's first tweet."""
        try:
            self._auth()
        except Exception as exc:
            raise session.classify(exc, sent=False) from exc
        try:
            tweet = self.client.create_tweet(
                text=text, in_reply_to_tweet_id=on.remote_id, user_auth=self.oauth1
            )
        except Exception as exc:
            raise session.classify(exc, sent=True) from exc
        reply = str(tweet["data"]["id"])
        return Receipt(reply, status_url(reply))

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None:
        """Find the missing tweets among the account's 20 latest (X shortens links, so links
        are left out of the comparison)."""
        posted = self.threads.load(key)
        try:
            if self._user_id is None:
                self.verify()
            timeline = self.client.get_users_tweets(
                self._user_id, max_results=20, user_auth=self.oauth1
            )
        except Exception as exc:
            raise session.classify(exc, sent=False) from exc
        recent = {_comparable(t["text"]): str(t["id"]) for t in timeline.get("data") or []}
        for part in post.parts[len(posted) :]:
            found = recent.get(_comparable(part))
            if found is None:
                self.threads.save(key, posted)
                return None
            posted.append(found)
        self.threads.clear(key)
        return Receipt(posted[0], status_url(posted[0]), parts=tuple(posted))

    measure_batch = 100  # GET /2/tweets takes up to 100 ids

    def measure(self, remote_ids: Sequence[str]) -> dict[str, Engagement]:
        """`public_metrics` of each tweet (any access level can read them). X gives no
        link clicks there: those stay missing. A deleted tweet comes back in `errors`."""
        try:
            self._auth()
            found = self.client.get_tweets(
                list(remote_ids), tweet_fields=["public_metrics"], user_auth=self.oauth1
            )
        except Exception as exc:
            raise session.classify(exc, sent=False) from exc
        measured = {}
        for tweet in found.get("data") or []:
            counts = tweet.get("public_metrics") or {}
            reposts = [number(counts.get(k)) for k in ("retweet_count", "quote_count")]
            measured[str(tweet["id"])] = Engagement(
                likes=number(counts.get("like_count")),
                reposts=None if reposts == [None, None] else sum(r or 0 for r in reposts),
                replies=number(counts.get("reply_count")),
                impressions=number(counts.get("impression_count")),
                saves=number(counts.get("bookmark_count")),
            )
        return measured


def _comparable(text: str) -> str:
    return " ".join(URL.sub(" ", html.unescape(text)).split())

"""A stand-in for X's API on a local socket, answering like api.x.com does.

From X's API reference: ``POST /2/tweets`` creates a tweet and answers its id; the tweet then
appears first in ``GET /2/users/:id/tweets``; a rate limit is a 429 whose
``x-rate-limit-reset`` header is the epoch second it lifts. A reply
(``reply.in_reply_to_tweet_id``) to a tweet that was deleted (`deleted`) is a 403:
"You attempted to reply to a Tweet that is deleted or not visible to you." Each tweet
stored is told to the ledger. ``GET /2/tweets?ids=…&tweet.fields=public_metrics`` answers
each known tweet with its ``public_metrics`` (`metrics`) and each unknown or deleted one in
``errors`` ("Could not find tweet"), with a 200; an app without read access to the v2
endpoints (X's Free tier) gets a 403 ``client-not-enrolled``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crosspost_x import XAdapter

from crosspost.adapter import construct
from crosspost.testing import Answer, ScriptedHTTPServer

OAUTH1 = {
    "consumer_key": "ck-public",
    "consumer_secret": "cs-SECRET-1",
    "access_token": "42-at-public",
    "access_token_secret": "ats-SECRET-2",
}


class FakeX(ScriptedHTTPServer):
    publishing = (("POST", "/2/tweets"),)

    def __init__(self) -> None:
        super().__init__()
        self.next_id = 1000
        self.on_tweet: list[Any] = []  # callables run when a tweet arrives (to look at disk)
        self.timeline: list[dict[str, str]] = []  # what GET /2/users/42/tweets lists
        self.deleted: set[str] = set()  # tweets deleted on X since they were posted
        self.metrics: dict[str, dict[str, int]] = {}  # tweet id -> its public_metrics
        self.enrolled = True  # the app may read tweets (not X's Free tier)

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        if scripted is None and request["method"] == "POST" and request["path"] == "/2/tweets":
            parent = (json.loads(request["body"]).get("reply") or {}).get("in_reply_to_tweet_id")
            if parent in self.deleted:
                detail = "You attempted to reply to a Tweet that is deleted or not visible to you."
                return 403, {}, {"title": "Forbidden", "detail": detail, "status": 403}, 0
        answer = super().respond(request, scripted)
        if scripted is None and request["method"] == "POST" and request["path"] == "/2/tweets":
            tweet = {"id": answer[2]["data"]["id"], "text": json.loads(request["body"])["text"]}
            self.timeline.insert(0, tweet)  # newest first, as the timeline lists them
            self.ledger.accept(tweet["id"], tweet["text"], self.clock(), request)
        return answer

    def rate_limit_answer(self, reset: float) -> Answer:
        headers = {"x-rate-limit-reset": str(int(reset)), "x-rate-limit-remaining": "0"}
        return 429, headers, {"title": "Too Many Requests", "status": 429}, 0

    def default_answer(self, method: str, path: str) -> Answer:
        if method == "GET" and path.startswith("/2/tweets?"):
            return self._lookup(parse_qs(urlsplit(path).query))
        self.next_id += 1
        if path == "/2/tweets":
            for hook in self.on_tweet:
                hook()
            return 201, {}, {"data": {"id": str(self.next_id), "text": "…"}}, 0
        if path == "/2/media/upload":
            return 200, {}, {"data": {"id": f"77{self.next_id}", "media_key": "3_77"}}, 0
        if path == "/2/media/metadata":
            return 200, {}, {"data": {"associated_metadata": {}}}, 0
        if path.startswith("/2/users/me"):
            return 200, {}, {"data": {"id": "42", "name": "Acme", "username": "acme"}}, 0
        if path.startswith("/2/users/42/tweets"):
            return 200, {}, {"data": self.timeline, "meta": {}}, 0
        if path == "/2/oauth2/token":
            token = {"access_token": f"access-{self.next_id}", "expires_in": 7200}
            return 200, {}, {**token, "refresh_token": f"refresh-{self.next_id}"}, 0
        return 404, {}, {"title": "Not Found Error", "detail": f"{method} {path}"}, 0

    def _lookup(self, query: dict[str, list[str]]) -> Answer:
        if not self.enrolled:
            body = {"title": "Client Forbidden", "reason": "client-not-enrolled", "status": 403,
                    "detail": "When authenticating requests to the Twitter API v2 endpoints, "
                    "you must use keys and tokens from a Twitter developer App that is attached "
                    "to a Project."}  # fmt: skip
            return 403, {}, body, 0
        ids = query.get("ids", [""])[0].split(",")
        known = {t["id"] for t in self.timeline} - self.deleted
        zero = {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0,
                "bookmark_count": 0, "impression_count": 0}  # fmt: skip
        data = [{"id": i, "text": "…", "public_metrics": self.metrics.get(i, zero)}
                for i in ids if i in known]  # fmt: skip
        errors = [{"value": i, "detail": f"Could not find tweet with ids: [{i}].",
                   "title": "Not Found Error", "resource_type": "tweet"}
                  for i in ids if i not in known]  # fmt: skip
        body: dict[str, Any] = {"data": data} if data else {}
        return 200, {}, {**body, **({"errors": errors} if errors else {})}, 0

    def tweets(self) -> list[dict[str, Any]]:
        return list(self.json_bodies("POST", "/2/tweets"))


def make_x(
    server: FakeX | str, tmp: Path, secrets: dict[str, str] | None = None, **extra: Any
) -> XAdapter:
    """An X adapter for `server` (or a base URL), its state under `tmp`."""
    base = server if isinstance(server, str) else server.url
    adapter = construct(
        XAdapter,
        "acme_x",
        {"api_base_url": base, "timeout": 2, **extra},
        secrets if secrets is not None else dict(OAUTH1),
        tmp,
        tmp / "state",
    )
    assert isinstance(adapter, XAdapter)
    return adapter


def x_error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    """An error as X's v2 API words it."""
    body = {"title": "Error", "detail": message, "status": status}
    return status, headers or {}, body, 0

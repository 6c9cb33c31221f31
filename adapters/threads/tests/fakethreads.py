"""A stand-in for Meta's Threads API on a local socket, written from Meta's Threads docs.

What it does, as the documentation says graph.threads.net does:

* ``POST /v1.0/{user}/threads`` makes a media container (``media_type`` TEXT, IMAGE or
  CAROUSEL; ``text``, ``image_url``, ``alt_text``, ``is_carousel_item``, ``children``,
  ``reply_to_id``, ``link_attachment``) and answers its id. A text over 500 characters (emoji
  as their UTF-8 bytes) or with more than 5 links is refused (code 100). ``link_attachment``
  on anything but a TEXT post is ignored without a word, as Meta's docs allow. A
  ``reply_to_id`` needs the ``threads_manage_replies`` permission (without it: code 10,
  HTTP 403) and a published media id (else code 100).
* ``GET /v1.0/{container}?fields=status,error_message``: an image container is
  ``IN_PROGRESS`` for `processing_checks` reads, then ``FINISHED`` (or ``ERROR`` when its
  image URL is not public); a text container is ``FINISHED`` at once; a published one is
  ``PUBLISHED``.
* ``POST /v1.0/{user}/threads_publish`` (``creation_id``) publishes a FINISHED container and
  answers the media id; a container not ready is code 24 ("media not ready"); one already
  published is refused.
* ``GET /v1.0/{user}/threads_publishing_limit`` gives ``quota_usage`` of the last 24 hours
  against ``config.quota_total`` (250).
* ``GET /v1.0/{media}/insights?metric=views,likes,replies,reposts,quotes,shares`` gives
  each metric's lifetime ``values``; it needs ``threads_manage_insights`` (else code 10),
  and a media deleted since is code 100.
* ``GET /v1.0/{media}?fields=permalink``, ``GET /v1.0/{user}/threads`` (newest first),
  ``GET /v1.0/me?fields=id,username``.
* ``GET /refresh_access_token?grant_type=th_refresh_token`` gives a new 60-day token;
  ``POST /oauth/access_token`` and ``GET /access_token`` (``th_exchange_token``) make one.
* Errors are Graph's objects (``message``, ``type``, ``code``, ``fbtrace_id``); a rate limit
  is code 4 with ``X-App-Usage``. The token may come as ``access_token`` or as a bearer.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex
from crosspost_threads import ThreadsAdapter

from crosspost.adapter import construct
from crosspost.testing import Answer, ScriptedHTTPServer

TOKEN = "threads-token-SECRET-5"
USER = "17841400000000001"
_EMOJI = regex.compile(r"\p{Extended_Pictographic}|\p{Regional_Indicator}")
_LINK = re.compile(r"https?://\S+")


def meta_length(text: str) -> int:
    """Meta's count: characters, an emoji grapheme as its UTF-8 bytes."""
    return sum(len(g.encode()) if _EMOJI.search(g) else len(g) for g in regex.findall(r"\X", text))


def graph_error(
    status: int, code: int, message: str, headers: dict[str, str] | None = None
) -> Answer:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbC"}
    return status, headers or {}, {"error": error}, 0


class FakeThreads(ScriptedHTTPServer):
    publishing = (("POST", f"/v1.0/{USER}/threads_publish"),)

    def __init__(self, processing_checks: int = 1, quota_usage: int = 0) -> None:
        super().__init__()
        self.processing_checks = processing_checks
        self.quota_usage = quota_usage
        self.ids = itertools.count(18_000_000_000_000_001)
        self.tokens = {TOKEN}
        self.containers: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []  # newest first, as the profile lists them
        self.can_reply = True  # the token was granted threads_manage_replies
        self.can_read_insights = True  # and threads_manage_insights
        self.insights: dict[str, dict[str, int]] = {}  # media id -> views, likes...

    def rate_limit_answer(self, reset: float) -> Answer:
        minutes = max(math.ceil((reset - self.clock()) / 60), 1)
        usage = {"call_count": 100, "estimated_time_to_regain_access": minutes}
        return graph_error(400, 4, "Application request limit reached",
                           {"X-App-Usage": json.dumps(usage)})  # fmt: skip

    def error_answer(self) -> Answer:
        return graph_error(500, 2, "An unexpected error has occurred. Please retry.")

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        if scripted is not None:
            return scripted
        url = urlsplit(request["path"])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        form = {k: v[0] for k, v in parse_qs(request["body"].decode()).items()}
        params, method, path = {**query, **form}, request["method"], url.path
        if path in ("/oauth/access_token", "/access_token"):
            return self._exchange(path, params)
        bearer = request["headers"].get("Authorization", "").removeprefix("Bearer ")
        token = params.get("access_token") or bearer
        if token not in self.tokens:
            return graph_error(400, 190, "Error validating access token: Session has expired")
        if path == "/refresh_access_token":
            return self._refresh(params)
        if path in ("/v1.0/me", f"/v1.0/{USER}"):
            return 200, {}, {"id": USER, "username": "acme.bakery"}, 0
        if path == f"/v1.0/{USER}/threads":
            if method == "POST":
                return self._container(params)
            limit = int(params.get("limit", "25"))
            return 200, {}, {"data": self.posts[:limit], "paging": {}}, 0
        if method == "POST" and path == f"/v1.0/{USER}/threads_publish":
            return self._publish(params.get("creation_id", ""))
        if path == f"/v1.0/{USER}/threads_publishing_limit":
            config = {"quota_total": 250, "quota_duration": 86400}
            usage = {"quota_usage": self.quota_usage, "config": config}
            return 200, {}, {"data": [usage]}, 0
        if path.endswith("/insights"):
            return self._insights(path.split("/")[2], params.get("metric", ""))
        item = path.removeprefix("/v1.0/")
        if item in self.containers:
            return self._container_state(item)
        for post in self.posts:
            if post["id"] == item:
                return 200, {}, post, 0
        return graph_error(
            400, 100, f"Unsupported get request. Object with ID '{item}' does not exist"
        )

    def _container(self, params: dict[str, str]) -> Answer:
        kind, text = params.get("media_type", ""), params.get("text", "")
        if kind not in ("TEXT", "IMAGE", "CAROUSEL"):
            return graph_error(
                400, 100, "Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}"
            )
        if meta_length(text) > 500:
            return graph_error(400, 100, "Param text must be at most 500 characters long.")
        if len(set(_LINK.findall(text))) > 5:
            return graph_error(400, 100, "The post may contain at most 5 links.")
        if kind == "CAROUSEL":
            children = params.get("children", "").split(",")
            if not 2 <= len(children) <= 20 or any(c not in self.containers for c in children):
                return graph_error(400, 100, "Param children must name 2 to 20 carousel items")
        if kind == "IMAGE" and not params.get("image_url", "").startswith("https://"):
            return graph_error(400, 100, "Param image_url must be a valid URL")
        reply_to = params.get("reply_to_id")
        if reply_to and not self.can_reply:
            return graph_error(403, 10, "Application does not have permission for this action")
        if reply_to and not any(p["id"] == reply_to for p in self.posts):
            return graph_error(400, 100, "Param reply_to_id is not a valid media id")
        container_id = str(next(self.ids))
        self.containers[container_id] = {
            **params,
            "link_attachment": params.get("link_attachment") if kind == "TEXT" else None,
            "checks_left": 0 if kind == "TEXT" else self.processing_checks,
            "status": "FINISHED" if kind == "TEXT" else "IN_PROGRESS",
        }
        return 200, {}, {"id": container_id}, 0

    def _container_state(self, container_id: str) -> Answer:
        container = self.containers[container_id]
        if container["status"] == "IN_PROGRESS":
            if container["checks_left"] > 0:
                container["checks_left"] -= 1  # still fetching and processing
            else:
                unreachable = "unreachable" in container.get("image_url", "")
                container["status"] = "ERROR" if unreachable else "FINISHED"
        body = {"id": container_id, "status": container["status"]}
        if container["status"] == "ERROR":
            body["error_message"] = "FAILED_DOWNLOADING_IMAGE: the image URL could not be fetched"
        return 200, {}, body, 0

    def _publish(self, creation_id: str) -> Answer:
        container = self.containers.get(creation_id)
        if container is None:
            return graph_error(400, 100, "Param creation_id is not a valid container id")
        if container["status"] == "PUBLISHED":
            return graph_error(400, 10, "The media has already been published")
        if container["status"] != "FINISHED":
            return graph_error(400, 24, "The requested resource does not exist (media not ready)")
        container["status"] = "PUBLISHED"
        media_id = str(next(self.ids))
        shortcode = f"C{media_id[-8:]}"
        post = {
            "id": media_id,
            "text": container.get("text", ""),
            "media_type": "TEXT_POST"
            if container["media_type"] == "TEXT"
            else container["media_type"],
            "permalink": f"https://www.threads.net/@acme.bakery/post/{shortcode}",
            "reply_to_id": container.get("reply_to_id"),
            "link_attachment_url": container.get("link_attachment"),
            "container": creation_id,
        }
        self.posts.insert(0, post)
        self.quota_usage += 1
        self.ledger.accept(media_id, post["text"], self.clock(), {"container": creation_id})
        return 200, {}, {"id": media_id}, 0

    def _refresh(self, params: dict[str, str]) -> Answer:
        if params.get("grant_type") != "th_refresh_token":
            return graph_error(400, 100, "Invalid grant_type")
        token = f"THAA-refreshed-{next(self.ids)}-SECRET"
        self.tokens.add(token)
        return 200, {}, {"access_token": token, "token_type": "bearer", "expires_in": 5183944}, 0

    def _exchange(self, path: str, params: dict[str, str]) -> Answer:
        if path == "/oauth/access_token":
            if params.get("code") != "the-code" or params.get("client_secret") != "app-SECRET-9":
                return graph_error(400, 100, "Invalid verification code format.")
            return 200, {}, {"access_token": "short-lived-SECRET", "user_id": USER}, 0
        if (
            params.get("grant_type") != "th_exchange_token"
            or params.get("access_token") != "short-lived-SECRET"
        ):
            return graph_error(400, 190, "Invalid OAuth access token")
        self.tokens.add(TOKEN)
        return 200, {}, {"access_token": TOKEN, "token_type": "bearer", "expires_in": 5183944}, 0

    def _insights(self, media_id: str, metrics: str) -> Answer:
        if not self.can_read_insights:
            return graph_error(403, 10, "Application does not have permission for this action")
        if not any(p["id"] == media_id for p in self.posts):
            message = f"Unsupported get request. Object with ID '{media_id}' does not exist"
            return graph_error(400, 100, message)
        kept = self.insights.get(media_id, {})
        data = [
            {"name": m, "period": "lifetime", "values": [{"value": kept.get(m, 0)}]}
            for m in metrics.split(",")
        ]
        return 200, {}, {"data": data}, 0

    def container_of(self, media_id: str) -> dict[str, Any]:
        post = next(p for p in self.posts if p["id"] == media_id)
        return self.containers[post["container"]]


def make_threads(server: FakeThreads | str, tmp: Path, **extra: Any) -> ThreadsAdapter:
    base = server if isinstance(server, str) else server.url
    settings = {
        "api_base_url": base,
        "threads_user_id": USER,
        "timeout": 2,
        "media_base_url": "https://acme.example/media",
        **extra,
    }
    adapter = construct(
        ThreadsAdapter, "acme_threads", settings, {"access_token": TOKEN}, tmp, tmp / "state"
    )
    assert isinstance(adapter, ThreadsAdapter)
    return adapter

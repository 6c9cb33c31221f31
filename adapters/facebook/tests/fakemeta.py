"""Stand-ins for Meta's Graph API, written from Meta's public documentation.

* A Page (id 123): ``POST /{page}/feed`` (message, link) and ``POST /{page}/photos`` publish
  and answer their ids; ``GET /{page}/posts`` lists the Page's posts, newest first.
* An Instagram professional account (id 178): ``POST /{ig}/media`` makes a container (it
  keeps the caption), ``GET /{container}?fields=status_code`` says when it is ready,
  ``POST /{ig}/media_publish`` publishes it, and ``GET /{ig}/media`` lists the account's
  media, newest first, with their captions and permalinks.
* Comments: ``POST /{object-id}/comments`` (message) comments on a Page post or an IG
  media and answers the comment's id. As on Graph, an object that does not exist is error
  100 ("Unsupported post request"), and a token without the permission to comment
  (pages_manage_engagement, instagram_manage_comments) is error 200 or 10, HTTP 403.
* Numbers: ``GET /?ids=a,b&fields=…`` answers each object by its id. The whole call fails
  with error 100 ("Some of the aliases you requested do not exist") when one id is unknown
  (a post deleted since). A Page post has ``reactions`` and ``comments`` with a
  ``summary.total_count``, and ``shares.count`` only once somebody shared it (the field is
  left out before). Insights (``insights.metric(…)``, ``/{id}/insights?metric=…``) need
  their own permission (read_insights, instagram_manage_insights): without it, error 10.
* Rate limits are Graph's own: HTTP 400 with error code 4, and the usage header's
  ``estimated_time_to_regain_access`` in minutes.

What each stores is told to the `ledger`, so tests compare it with crosspost's deliveries.
"""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

from crosspost.testing import Answer, ScriptedHTTPServer

_FIELD = re.compile(
    rb'name="([^"]+)"(?:; filename="[^"]*")?\r\n(?:[^\r]*\r\n)*?\r\n(.*?)\r\n--', re.S
)


def _form(request: dict[str, Any]) -> dict[str, str]:
    """The form fields of a POST, urlencoded or multipart (a photo upload)."""
    body = request["body"]
    if b"Content-Disposition" in body:
        return {
            name.decode(): value.decode("utf-8", "replace")
            for name, value in _FIELD.findall(body)
            if name != b"source"
        }
    return dict(parse_qsl(body.decode()))


class GraphStandIn(ScriptedHTTPServer):
    """What the Page and Instagram stand-ins share: Graph's errors and rate limits, the
    comments edge, and the numbers of each object."""

    comment_permission = True  # the token was granted the permission to comment
    insights_permission = True  # the token may read insights

    def numbers(self) -> dict[str, dict[str, Any]]:
        """Each object's fields as Graph answers them (made on first use)."""
        if not hasattr(self, "_numbers"):
            self._numbers: dict[str, dict[str, Any]] = {}
        return self._numbers

    def ids_answer(self, path: str, known: set[str]) -> Answer:
        """`GET /?ids=…&fields=…`: every object, or error 100 when one is unknown."""
        query = dict(parse_qsl(path.split("?", 1)[1]))
        ids = query.get("ids", "").split(",")
        missing = [i for i in ids if i not in known]
        if missing:
            message = f"Some of the aliases you requested do not exist: {','.join(missing)}"
            return 400, {}, {"error": {"message": message, "code": 100}}, 0
        fields = query.get("fields", "")
        if "insights" in fields and not self.insights_permission:
            return self.no_insights()
        answer = {}
        for i in ids:
            node = {"id": i, **self.numbers().get(i, {})}
            answer[i] = {k: v for k, v in node.items() if k == "id" or k.split(".")[0] in fields}
        return 200, {}, answer, 0

    def no_insights(self) -> Answer:
        message = "(#10) Requires read_insights permission"
        return 403, {}, {"error": {"message": message, "code": 10}}, 0

    permission_error = 200  # the code Graph answers without it (Pages: 200, Instagram: 10)

    def comments_on(self) -> dict[str, list[str]]:
        """Each object's comments, in order (made on first use)."""
        if not hasattr(self, "_comments"):
            self._comments: dict[str, list[str]] = {}
        return self._comments

    def comment_answer(self, request: dict[str, Any], known: set[str]) -> Answer:
        """`POST /{object-id}/comments`: the comment is kept under its object."""
        target = request["path"].split("?")[0].split("/")[2]
        if not self.comment_permission:
            message = f"(#{self.permission_error}) Permissions error"
            return 403, {}, {"error": {"message": message, "code": self.permission_error}}, 0
        if target not in known:
            message = f"Unsupported post request. Object with ID '{target}' does not exist"
            return 400, {}, {"error": {"message": message, "code": 100}}, 0
        kept = self.comments_on().setdefault(target, [])
        kept.append(_form(request).get("message", ""))
        return 200, {}, {"id": f"{target.split('_')[-1]}_{700 + len(kept)}"}, 0

    def rate_limit_answer(self, reset: float) -> Answer:
        minutes = max(math.ceil((reset - self.clock()) / 60), 1)
        usage = {"call_count": 100, "estimated_time_to_regain_access": minutes}
        error = {"message": "Application request limit reached", "code": 4}
        return 400, {"X-App-Usage": json.dumps(usage)}, {"error": error}, 0

    def error_answer(self) -> Answer:
        error = {"message": "An unexpected error has occurred.", "code": 2, "is_transient": True}
        return 500, {}, {"error": error}, 0


class FakeGraph(GraphStandIn):
    """A Facebook Page, id 123."""

    publishing = (("POST", "/v23.0/123/feed"), ("POST", "/v23.0/123/photos"))
    counter = 0

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, str]] = []  # newest first, as /{page}/posts lists them

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        if scripted is not None:
            return scripted
        method, path = request["method"], request["path"]
        if method == "GET" and path.startswith("/v23.0/123/posts"):
            return 200, {}, {"data": self.posts[:10]}, 0
        if method == "POST" and path.split("?")[0].endswith("/comments"):
            return self.comment_answer(request, {p["id"] for p in self.posts})
        if method == "GET" and path.startswith("/v23.0/?ids="):
            return self.ids_answer(path, {p["id"] for p in self.posts})
        answer = self.default_answer(method, path)
        form = _form(request) if method == "POST" else {}
        published = form.get("published") != "false"
        if (
            method == "POST"
            and answer[0] == 200
            and published
            and ("/feed" in path or "/photos" in path)
        ):
            post_id = answer[2].get("post_id") or answer[2]["id"]
            self.posts.insert(0, {"id": post_id, "message": form.get("message", "")})
            self.ledger.accept(post_id, form.get("message", ""), self.clock(), request)
        return answer

    def default_answer(self, method: str, path: str) -> Answer:
        self.counter += 1
        if "/photos" in path:
            return 200, {}, {"id": f"55{self.counter}", "post_id": f"123_55{self.counter}"}, 0
        if "/feed" in path:
            return 200, {}, {"id": f"123_99{self.counter}"}, 0
        return 200, {}, {"name": "Acme Bakery", "id": "123"}, 0


class FakeInstagram(GraphStandIn):
    """An Instagram professional account, id 178."""

    publishing = (("POST", "/v23.0/178/media_publish"),)
    permission_error = 10  # "(#10) Application does not have permission for this action"

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0
        self.statuses: list[str] = []  # what the next status polls say, then FINISHED
        self.captions: dict[str, str] = {}  # container -> caption
        self.media: list[dict[str, str]] = []  # newest first, as /{ig}/media lists them
        self.published: set[str] = set()  # containers media_publish used: PUBLISHED

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        if scripted is not None:
            return scripted
        method, path = request["method"], request["path"]
        if method == "GET" and path.startswith("/v23.0/178/media?"):
            return 200, {}, {"data": self.media[:10]}, 0
        if method == "POST" and path.split("?")[0].endswith("/comments"):
            return self.comment_answer(request, {m["id"] for m in self.media})
        if method == "GET" and path.startswith("/v23.0/?ids="):
            return self.ids_answer(path, {m["id"] for m in self.media})
        if method == "GET" and "/insights?" in path:
            return self.media_insights(path)
        answer = self.default_answer(method, path)
        if method == "POST" and answer[0] == 200:
            form = _form(request)
            if path.startswith("/v23.0/178/media_publish"):
                media_id = answer[2]["id"]
                caption = self.captions.get(form.get("creation_id", ""), "")
                permalink = f"https://www.instagram.com/p/M{media_id}/"
                self.media.insert(0, {"id": media_id, "caption": caption, "permalink": permalink})
                self.ledger.accept(media_id, caption, self.clock(), request)
                self.published.add(form.get("creation_id", ""))
            elif path.startswith("/v23.0/178/media"):
                self.captions[answer[2]["id"]] = form.get("caption", "")
        return answer

    def default_answer(self, method: str, path: str) -> Answer:
        self.counter += 1
        if path.startswith("/v23.0/178/media_publish"):
            return 200, {}, {"id": f"1790{self.counter}"}, 0
        if path.startswith("/v23.0/178/media") and method == "POST":
            return 200, {}, {"id": f"c{self.counter}"}, 0
        if "fields=status_code" in path:
            container = path.split("?")[0][7:]
            status = self.statuses.pop(0) if self.statuses else "FINISHED"
            if container in self.published:
                status = "PUBLISHED"
            return 200, {}, {"status_code": status, "id": container}, 0
        if "fields=permalink" in path:
            return 200, {}, {"permalink": "https://www.instagram.com/p/ABC123/"}, 0
        if path.startswith("/v23.0/178?"):
            return 200, {}, {"username": "acmebakery", "id": "178"}, 0
        return 404, {}, {"error": {"message": "Unknown path", "code": 803}}, 0

    def media_insights(self, path: str) -> Answer:
        """`/{ig-media-id}/insights?metric=…`: each metric's lifetime value."""
        if not self.insights_permission:
            return self.no_insights()
        media_id = path.split("?")[0].split("/")[2]
        metrics = dict(parse_qsl(path.split("?", 1)[1])).get("metric", "").split(",")
        kept = self.numbers().get(media_id, {}).get("insights", {})
        data = [{"name": m, "period": "lifetime", "values": [{"value": kept.get(m, 0)}],
                 "id": f"{media_id}/insights/{m}/lifetime"} for m in metrics]  # fmt: skip
        return 200, {}, {"data": data}, 0

    def forms(self, path: str) -> list[dict[str, str]]:
        return [
            dict(parse_qsl(r["body"].decode()))
            for r in self.requests
            if r["method"] == "POST" and r["path"].startswith(path)
        ]


class FakeTime:
    """Waiting advances this clock instead of the test."""

    def __init__(self) -> None:
        self.t = 0.0

    def sleep(self, seconds: float) -> None:
        self.t += seconds

    def advance(self, delta: timedelta) -> None:
        self.t += delta.total_seconds()

    def now(self) -> float:
        return self.t

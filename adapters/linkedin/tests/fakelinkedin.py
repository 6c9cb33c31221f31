"""A LinkedIn stand-in written from LinkedIn's public documentation, not from our adapter.

What it models (Posts API, Images API, "little Text Format" pages):

* ``POST /rest/posts`` needs ``LinkedIn-Version: YYYYMM``, ``X-Restli-Protocol-Version:
  2.0.0`` and a bearer token; it answers ``201`` with the new post's URN in ``x-restli-id``.
* The commentary is little text. A reserved character (``\\ | { } @ [ ] ( ) < > # * _ ~``)
  must be backslash-escaped unless it belongs to an element (``{hashtag|#|tag}``,
  ``@[Name](urn:li:organization:1)``). LinkedIn's silent failure is modelled: the post is
  stored up to the first unescaped reserved character, and the answer is still ``201``.
* ``GET /rest/posts/{encoded urn}`` returns the stored post; ``GET /rest/posts?q=author``
  the author's posts, newest first.
* Comments API: ``POST /rest/socialActions/{encoded post urn}/comments`` with ``actor``,
  ``object`` (the post, the same as in the path) and ``message.text`` answers ``201`` with
  the comment, whose ``commentUrn`` is ``urn:li:comment:(urn:li:activity:N,M)``. A post
  that does not exist is a 404; an ``object`` other than the path's, a 400; a text over
  1,250 characters, a 422 (LinkedIn's limit for a comment).
* Numbers: ``GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&
  organizationalEntity={org}&shares=List(…)&ugcPosts=List(…)`` answers one element per post
  of that organization with its ``totalShareStatistics`` (a post of another author is left
  out); ``GET /rest/socialActions?ids=List(…)`` answers ``results`` by urn with
  ``likesSummary`` and ``commentsSummary``, and needs r_member_social, which LinkedIn grants
  to few apps: without it (`member_social`), a 403 ACCESS_DENIED.
* Images: ``initializeUpload`` returns an upload URL and an image URN; the PUT stores bytes.

`script` (from ScriptedHTTPServer) still overrides the next answers, for failures.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import unquote

from crosspost.testing import Answer, ScriptedHTTPServer

RESERVED = set("\\|{}@[]()<>#*_~")
HASHTAG_TEMPLATE = re.compile(r"\{hashtag\|\\?[#＃]\|(?:\\.|[^\\|{}@\[\]()<>#*_~])*\}")
MENTION = re.compile(
    r"@\[(?:\\.|[^\\|{}@\[\]()<>#*_~])*\]\(urn:li:(?:person|organization):[A-Za-z0-9_-]+\)"
)


def stored_text(commentary: str) -> str:
    """What LinkedIn keeps of a commentary: everything up to the first reserved character
    that is neither escaped nor part of an element."""
    kept, index = [], 0
    while index < len(commentary):
        char = commentary[index]
        if char == "\\" and index + 1 < len(commentary):
            kept.append(commentary[index : index + 2])
            index += 2
            continue
        element = HASHTAG_TEMPLATE.match(commentary, index) or MENTION.match(commentary, index)
        if element:
            kept.append(element.group())
            index = element.end()
            continue
        if char in RESERVED:
            break
        kept.append(char)
        index += 1
    return "".join(kept)


class FakeLinkedIn(ScriptedHTTPServer):
    publishing = (("POST", "/rest/posts"),)

    def __init__(self) -> None:
        super().__init__()
        self.stored: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[dict[str, Any]]] = {}  # post urn -> comments made
        self.statistics: dict[str, dict[str, int]] = {}  # post urn -> totalShareStatistics
        self.member_social = False  # the app was granted r_member_social (few are)
        self.uploads: dict[str, bytes] = {}
        self.counter = 7000

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        if scripted is not None:
            return scripted
        method, path = request["method"], request["path"]
        headers = {k.lower(): v for k, v in request["headers"].items()}
        if path.startswith("/upload/"):
            self.uploads[path] = request["body"]
            return 201, {}, None, 0
        if not headers.get("authorization", "").startswith("Bearer "):
            return 401, {}, {"status": 401, "message": "Empty oauth2 access token"}, 0
        if path.startswith("/rest/") and not re.fullmatch(
            r"\d{6}", headers.get("linkedin-version", "")
        ):
            return 400, {}, {"status": 400, "message": "A version must be present"}, 0
        if path == "/rest/posts" and method == "POST":
            return self._create(request)
        if path.startswith("/rest/socialActions/") and method == "POST":
            return self._comment(request)
        return self.default_answer(method, path)

    def default_answer(self, method: str, path: str) -> Answer:
        if path.startswith("/rest/organizationalEntityShareStatistics?"):
            return self._statistics(path)
        if path.startswith("/rest/socialActions?ids="):
            if not self.member_social:
                message = "Not enough permissions to access: socialActions.BATCH_GET"
                return 403, {}, {"status": 403, "serviceErrorCode": 100, "message": message}, 0
            urns = [unquote(u) for u in path.split("List(", 1)[1].rstrip(")").split(",")]
            results = {}
            for u in (u for u in urns if u in self.stored):
                likes = self.statistics.get(u, {}).get("likeCount", 0)
                comments = len(self.comments.get(u, []))
                results[u] = {"likesSummary": {"totalLikes": likes},
                              "commentsSummary": {"aggregatedTotalComments": comments}}  # fmt: skip
            return 200, {}, {"results": results, "errors": {}}, 0
        if path.startswith("/rest/posts?q=author"):
            elements = sorted(self.stored.values(), key=lambda p: p["id"], reverse=True)
            return 200, {}, {"elements": elements[:10]}, 0
        if path.startswith("/rest/posts/") and method == "GET":
            post = self.stored.get(unquote(path.removeprefix("/rest/posts/")))
            if post is None:
                return 404, {}, {"status": 404, "message": "Not found"}, 0
            return 200, {}, post, 0
        if path.startswith("/rest/images?action=initializeUpload"):
            self.counter += 1
            value = {
                "uploadUrl": f"{self.url}/upload/{self.counter}",
                "image": f"urn:li:image:C{self.counter}",
            }
            return 200, {}, {"value": value}, 0
        if path.startswith("/rest/organizations/"):
            return 200, {}, {"localizedName": "Acme Ltd"}, 0
        if path == "/v2/userinfo":
            return 200, {}, {"sub": "AbC", "name": "Marie Curie"}, 0
        return 404, {}, {"status": 404, "message": f"no resource at {path}"}, 0

    def _create(self, request: dict[str, Any]) -> Answer:
        body = json.loads(request["body"])
        required = ("author", "commentary", "visibility", "distribution", "lifecycleState")
        missing = [key for key in required if key not in body]
        if missing:
            return 422, {}, {"status": 422, "message": f"missing field(s) {missing}"}, 0
        self.counter += 1
        urn = f"urn:li:share:{self.counter}"
        self.stored[urn] = {**body, "id": urn, "commentary": stored_text(body["commentary"])}
        self.ledger.accept(urn, self.stored[urn]["commentary"], self.clock(), request)
        return 201, {"x-restli-id": urn}, None, 0

    def _comment(self, request: dict[str, Any]) -> Answer:
        target = unquote(request["path"].removeprefix("/rest/socialActions/").split("/")[0])
        if target not in self.stored:
            return 404, {}, {"status": 404, "message": f"Not found: {target}"}, 0
        body = json.loads(request["body"])
        if body.get("object") != target or not body.get("actor"):
            return 400, {}, {"status": 400, "message": "actor and object are required"}, 0
        text = str((body.get("message") or {}).get("text", ""))
        if len(text) > 1250:
            return 422, {}, {"status": 422, "message": "Comment text exceeds 1250 chars"}, 0
        kept = self.comments.setdefault(target, [])
        self.counter += 1
        urn = f"urn:li:comment:(urn:li:activity:{target.rsplit(':', 1)[1]},{self.counter})"
        comment = {**body, "id": str(self.counter), "commentUrn": urn, "$URN": urn}
        kept.append(comment)
        return 201, {"x-restli-id": str(self.counter)}, comment, 0

    def _statistics(self, path: str) -> Answer:
        org = unquote(re.search(r"organizationalEntity=([^&]+)", path).group(1))  # type: ignore[union-attr]
        urns = [unquote(u) for found in re.findall(r"(?:shares|ugcPosts)=List\(([^)]*)\)", path)
                for u in found.split(",") if u]  # fmt: skip
        elements = [{"share" if ":share:" in u else "ugcPost": u, "organizationalEntity": org,
                     "totalShareStatistics": self.statistics.get(u, {})}
                    for u in urns if self.stored.get(u, {}).get("author") == org]  # fmt: skip
        return 200, {}, {"elements": elements, "paging": {"count": 10, "start": 0}}, 0

    def rate_limit_answer(self, reset: float) -> Answer:
        """LinkedIn's 429 says when to come back in Retry-After (seconds)."""
        wait = str(max(math.ceil(reset - self.clock()), 1))  # a whole second, rounded up
        return 429, {"Retry-After": wait}, {"status": 429, "message": "Too Many Requests"}, 0

    def posts(self) -> list[dict[str, Any]]:
        """The bodies sent to POST /rest/posts, as sent."""
        return self.json_bodies("POST", "/rest/posts")

"""A stand-in Bluesky PDS on a local socket, written from the AT Protocol documentation and
the app.bsky lexicons.

* ``com.atproto.server.createSession`` (identifier + password) answers ``did``, ``handle``,
  ``accessJwt`` and ``refreshJwt``; a wrong password is a 401 ``AuthenticationRequired``.
  ``refreshSession`` takes the refresh token as the bearer and answers new tokens. An
  expired access token is a 400 ``ExpiredToken``.
* ``com.atproto.repo.createRecord`` checks the record as the lexicon says (text at most 300
  graphemes and 3,000 bytes, a TID record key) and stores it; a record key that already
  exists is answered with a 500 ``InternalServerError`` (the PDS's known behaviour), and
  nothing is stored. ``getRecord`` answers a stored record or 400 ``RecordNotFound``.
* A reply's ``root`` and ``parent`` are strong refs (uri and cid). The PDS does not check
  them: a reply whose refs name no stored record, or the wrong cid, is stored all the same
  and shown by no app (kept in `orphans`, Bluesky's silent failure for replies).
* ``app.bsky.feed.getPosts`` (``uris``, at most 25, more is a 400) answers the posts it
  knows with ``likeCount``, ``repostCount``, ``replyCount`` and ``quoteCount`` (`counts`);
  a deleted one is left out of the answer without an error.
* ``uploadBlob`` takes the raw bytes and answers a blob reference.
* A rate limit is a 429 ``RateLimitExceeded`` with ``ratelimit-reset`` in epoch seconds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex
from crosspost_bluesky import BlueskyAdapter

from crosspost.adapter import construct
from crosspost.testing import Answer, ScriptedHTTPServer

PASSWORD = "abcd-efgh-SECRET-ijkl"
DID = "did:plc:acme4bakery5test6"
TID = regex.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
HANDLES = {"camille.bsky.social": "did:plc:camille"}


def xrpc_error(
    status: int, name: str, message: str, headers: dict[str, str] | None = None
) -> Answer:
    return status, headers or {}, {"error": name, "message": message}, 0


class FakeBluesky(ScriptedHTTPServer):
    publishing = (("POST", "/xrpc/com.atproto.repo.createRecord"),)

    def __init__(self) -> None:
        super().__init__()
        self.tokens = itertools.count(1)
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.logins = 0
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> {uri, cid, value}
        self.blobs: dict[str, bytes] = {}
        self.counts: dict[str, dict[str, int]] = {}  # uri -> likeCount, repostCount...
        self.orphans: list[str] = []  # replies whose refs name no stored record

    def rate_limit_answer(self, reset: float) -> Answer:
        headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "0"}
        headers |= {"ratelimit-reset": str(int(reset)), "ratelimit-policy": "5000;w=3600"}
        return xrpc_error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)

    def error_answer(self) -> Answer:
        return xrpc_error(502, "UpstreamFailure", "Upstream Failure")

    def expire_access_tokens(self) -> None:
        self.access.clear()

    def _tokens(self) -> dict[str, str]:
        n = next(self.tokens)
        access, refresh = f"access-jwt-{n}", f"refresh-jwt-{n}"
        self.access.add(access)
        self.refresh.add(refresh)
        return {
            "did": DID,
            "handle": "acme.bsky.social",
            "accessJwt": access,
            "refreshJwt": refresh,
        }

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        if scripted is not None:
            return scripted
        url = urlsplit(request["path"])
        nsid, query = url.path.removeprefix("/xrpc/"), parse_qs(url.query)
        bearer = request["headers"].get("Authorization", "").removeprefix("Bearer ")
        body = request["body"]
        if nsid == "com.atproto.server.createSession":
            given = json.loads(body)
            self.logins += 1
            if given.get("identifier") != "acme.bsky.social" or given.get("password") != PASSWORD:
                return xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
            return 200, {}, {**self._tokens(), "active": True}, 0
        if nsid == "com.atproto.server.refreshSession":
            if bearer not in self.refresh:
                return xrpc_error(400, "ExpiredToken", "Token has expired")
            self.refresh.discard(bearer)  # a refresh token is used once
            return 200, {}, self._tokens(), 0
        if bearer not in self.access:
            if bearer.startswith("access-jwt-"):
                return xrpc_error(400, "ExpiredToken", "Token has expired")
            return xrpc_error(401, "AuthenticationRequired", "Authentication Required")
        if nsid == "com.atproto.server.getSession":
            return 200, {}, {"did": DID, "handle": "acme.bsky.social", "active": True}, 0
        if nsid == "com.atproto.identity.resolveHandle":
            did = HANDLES.get(query.get("handle", [""])[0])
            if did is None:
                return xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
            return 200, {}, {"did": did}, 0
        if nsid == "com.atproto.repo.uploadBlob":
            if len(body) > 1_000_000:
                return xrpc_error(400, "BlobTooLarge", "This file is too large")
            link = "bafkrei" + hashlib.sha256(body).hexdigest()[:40]
            self.blobs[link] = body
            mime = request["headers"].get("Content-Type", "")
            blob = {"$type": "blob", "ref": {"$link": link}, "mimeType": mime, "size": len(body)}
            return 200, {}, {"blob": blob}, 0
        if nsid == "app.bsky.feed.getPosts":
            uris = query.get("uris", [])
            if len(uris) > 25:
                return xrpc_error(400, "InvalidRequest", "uris must not have more than 25 elements")
            known = {stored["uri"]: stored for stored in self.records.values()}
            posts = [{"uri": u, "cid": known[u]["cid"], "author": {"did": DID},
                      "record": known[u]["value"], **self.counts.get(u, {})}
                     for u in uris if u in known]  # fmt: skip
            return 200, {}, {"posts": posts}, 0
        if nsid == "com.atproto.repo.createRecord":
            return self._create(request, json.loads(body))
        if nsid == "com.atproto.repo.getRecord":
            stored = self.records.get(query.get("rkey", [""])[0])
            if stored is None:
                return xrpc_error(400, "RecordNotFound", "Could not locate record")
            return 200, {}, stored, 0
        return xrpc_error(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")

    def _create(self, request: dict[str, Any], given: dict[str, Any]) -> Answer:
        record, rkey = given.get("record") or {}, str(given.get("rkey") or "")
        if given.get("repo") != DID or given.get("collection") != "app.bsky.feed.post":
            return xrpc_error(400, "InvalidRequest", "Invalid repo or collection")
        if not TID.match(rkey):
            return xrpc_error(400, "InvalidRequest", "Invalid record key: must be a TID")
        text = str(record.get("text", ""))
        if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
            return xrpc_error(
                400,
                "InvalidRequest",
                "Invalid app.bsky.feed.post record: Record/text must not be longer than "
                "300 graphemes",
            )
        if not str(record.get("createdAt", "")).endswith("Z"):
            return xrpc_error(400, "InvalidRequest", "Record/createdAt must be a valid datetime")
        if rkey in self.records:
            return xrpc_error(500, "InternalServerError", "Internal Server Error")
        refs = record.get("reply") or {}
        for ref in (refs.get("root"), refs.get("parent")) if refs else ():
            stored = self.records.get(str((ref or {}).get("uri", "")).rsplit("/", 1)[-1])
            if stored is None or stored["cid"] != (ref or {}).get("cid"):
                self.orphans.append(rkey)
        uri = f"at://{DID}/app.bsky.feed.post/{rkey}"
        cid = "bafyrei" + hashlib.sha256(json.dumps(record).encode()).hexdigest()[:40]
        self.records[rkey] = {"uri": uri, "cid": cid, "value": record}
        self.ledger.accept(uri, text, self.clock(), request)
        return 200, {}, {"uri": uri, "cid": cid, "validationStatus": "valid"}, 0

    def posts(self) -> list[dict[str, Any]]:
        """The stored post records, in the order they were created."""
        return [stored["value"] for stored in self.records.values()]


def make_bluesky(server: FakeBluesky | str, tmp: Path, **extra: Any) -> BlueskyAdapter:
    base = server if isinstance(server, str) else server.url
    adapter = construct(
        BlueskyAdapter,
        "acme_bluesky",
        {"handle": "acme.bsky.social", "service": base, "timeout": 2, **extra},
        {"app_password": PASSWORD},
        tmp,
        tmp / "state",
    )
    assert isinstance(adapter, BlueskyAdapter)
    return adapter

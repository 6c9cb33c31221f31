"""A stand-in for a Mastodon instance on a local socket, written from Mastodon's API docs.

What it does, as the documentation says an instance does:

* ``POST /api/v1/statuses`` (form fields, ``media_ids[]``) stores a status and answers it
  with its ``id``, ``url`` and HTML ``content``. With an ``Idempotency-Key`` already seen
  (for one hour), it answers the status stored then and stores nothing. A text over
  ``max_characters`` (graphemes, URLs 23, remote mentions as ``@user``, the content warning
  included) or media still processing is a 422. An ``in_reply_to_id`` that is not a
  status of the instance is a 404 ("The status you are trying to reply to does not appear
  to exist.").
* ``POST /api/v2/media`` answers 202 with ``url: null`` while the file is processed;
  ``GET /api/v1/media/:id`` answers 206 until it is done, then 200 with the ``url``.
* ``GET /api/v2/instance`` gives ``configuration.statuses`` (``max_characters``,
  ``max_media_attachments``, ``characters_reserved_per_url``).
* ``GET /api/v1/statuses/:id`` answers a status with its ``favourites_count``,
  ``reblogs_count`` and ``replies_count``, or 404 once it is deleted.
* A rate limit is a 429 with ``X-RateLimit-Reset`` as an ISO 8601 time.
* ``POST /api/v1/apps`` registers an app; ``POST /oauth/token`` exchanges a code.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex
from crosspost_mastodon import MastodonAdapter

from crosspost.adapter import construct
from crosspost.testing import Answer, ScriptedHTTPServer

TOKEN = "mastodon-token-SECRET-7"
_URL = re.compile(r"https?://\S+")
_REMOTE = re.compile(r"(@\w+)@[\w.-]+\w")


def counted(text: str, url_length: int = 23) -> int:
    """Mastodon's StatusLengthValidator: graphemes after URLs become 23 x's and remote
    mentions their local part."""
    text = _REMOTE.sub(r"\1", _URL.sub("x" * url_length, text))
    return len(regex.findall(r"\X", text))


def mastodon_error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return status, headers or {}, {"error": message}, 0


class FakeMastodon(ScriptedHTTPServer):
    publishing = (("POST", "/api/v1/statuses"),)

    def __init__(self, max_characters: int = 500, processing_checks: int = 1) -> None:
        super().__init__()
        self.max_characters = max_characters
        self.processing_checks = processing_checks  # GETs of a media before it is ready
        self.ids = itertools.count(109_000_000_000_000_001)
        self.statuses: list[dict[str, Any]] = []  # newest first, as the timeline lists them
        self.keys: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> status
        self.media: dict[str, dict[str, Any]] = {}

    def rate_limit_answer(self, reset: float) -> Answer:
        when = datetime.fromtimestamp(reset, UTC).isoformat(timespec="milliseconds")
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"}
        return 429, {**headers, "X-RateLimit-Reset": when}, {"error": "Too many requests"}, 0

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        if scripted is not None:
            return scripted
        method, url = request["method"], urlsplit(request["path"])
        path, headers = url.path.rstrip("/") or "/", request["headers"]  # Rails ignores a final /
        if path.startswith("/oauth/") or path == "/api/v1/apps":
            return self._oauth(path, request)
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return mastodon_error(401, "The access token is invalid")
        if method == "POST" and path == "/api/v1/statuses":
            return self._post_status(request)
        if method == "POST" and path == "/api/v2/media":
            return self._upload(request)
        if method == "GET" and path.startswith("/api/v1/media/"):
            return self._media_state(path.rsplit("/", 1)[1])
        if path == "/api/v1/accounts/verify_credentials":
            return 200, {}, ACCOUNT, 0
        if path == "/api/v2/instance":
            return 200, {}, self.instance(), 0
        if path == "/api/v1/accounts/1/statuses":
            limit = int(parse_qs(url.query).get("limit", ["20"])[0])
            return 200, {}, self.statuses[:limit], 0
        if method == "GET" and path.startswith("/api/v1/statuses/"):
            wanted = path.rsplit("/", 1)[1]
            found = [s for s in self.statuses if s["id"] == wanted]
            return (200, {}, found[0], 0) if found else mastodon_error(404, "Record not found")
        return mastodon_error(404, "Record not found")

    def instance(self) -> dict[str, Any]:
        return {
            "domain": "social.example",
            "title": "Social Example",
            "version": "4.3.2",
            "configuration": {
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                },
                "media_attachments": {"image_size_limit": 16777216},
            },
        }

    def _post_status(self, request: dict[str, Any]) -> Answer:
        form = parse_qs(request["body"].decode())
        key = request["headers"].get("Idempotency-Key")
        if key and key in self.keys:
            return 200, {}, self.keys[key], 0  # the same status again, nothing stored
        text = form.get("status", [""])[0]
        warning = form.get("spoiler_text", [""])[0]
        parent = form.get("in_reply_to_id", [None])[0]
        if parent is not None and parent not in {s["id"] for s in self.statuses}:
            message = "The status you are trying to reply to does not appear to exist."
            return mastodon_error(404, message)
        if counted(text) + counted(warning) > self.max_characters:
            return mastodon_error(
                422, f"Validation failed: Text character limit of {self.max_characters} exceeded"
            )
        media = form.get("media_ids[]", [])
        if any(self.media.get(m, {}).get("url") is None for m in media):
            return mastodon_error(
                422, "Cannot attach files that have not finished processing. Try again in a moment!"
            )
        status_id = str(next(self.ids))
        status = {
            "id": status_id,
            "uri": f"https://social.example/users/acme/statuses/{status_id}",
            "url": f"https://social.example/@acme/{status_id}",
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "content": _html(text),
            "spoiler_text": warning,
            "visibility": form.get("visibility", ["public"])[0],
            "language": form.get("language", [None])[0],
            "in_reply_to_id": form.get("in_reply_to_id", [None])[0],
            "favourites_count": 0,
            "reblogs_count": 0,
            "replies_count": 0,
            "media_attachments": [self.media[m] for m in media],
            "account": ACCOUNT,
            "sensitive": False,
        }
        self.statuses.insert(0, status)
        if key:
            self.keys[key] = status
        self.ledger.accept(status_id, text, self.clock(), request)
        return 200, {}, status, 0

    def _upload(self, request: dict[str, Any]) -> Answer:
        fields = multipart(request)
        media_id = str(next(self.ids))
        data = fields.get("file", b"")
        self.media[media_id] = {
            "id": media_id,
            "type": "image",
            "url": None,
            "preview_url": None,
            "description": fields.get("description", b"").decode() or None,
            "size": len(data),
            "checks_left": self.processing_checks,
        }
        public = {k: v for k, v in self.media[media_id].items() if k != "checks_left"}
        return 202, {}, public, 0

    def _media_state(self, media_id: str) -> Answer:
        media = self.media.get(media_id)
        if media is None:
            return mastodon_error(404, "Record not found")
        if media["checks_left"] > 0:
            media["checks_left"] -= 1
        if media["checks_left"] == 0:
            media["url"] = f"https://files.social.example/media/{media_id}.jpg"
        public = {k: v for k, v in media.items() if k != "checks_left"}
        return (200 if media["url"] else 206), {}, public, 0

    def _oauth(self, path: str, request: dict[str, Any]) -> Answer:
        form = parse_qs(request["body"].decode())
        if path == "/api/v1/apps":
            return 200, {}, {
                "id": "563419",
                "name": form.get("client_name", [""])[0],
                "redirect_uri": form.get("redirect_uris", [""])[0],
                "client_id": "app-client-id",
                "client_secret": "app-client-SECRET-3",
            }, 0  # fmt: skip
        if path == "/oauth/token" and form.get("code") == ["the-code"]:
            return 200, {}, {
                "access_token": TOKEN,
                "token_type": "Bearer",
                "scope": form.get("scope", [""])[0],
                "created_at": 1764000000,
            }, 0  # fmt: skip
        return mastodon_error(400, "invalid_grant")

    def status_forms(self) -> list[dict[str, list[str]]]:
        return [
            parse_qs(r["body"].decode())
            for r in self.requests
            if r["method"] == "POST" and r["path"] == "/api/v1/statuses"
        ]


ACCOUNT = {
    "id": "1",
    "username": "acme",
    "acct": "acme",
    "display_name": "Acme Bakery",
    "url": "https://social.example/@acme",
}


def _html(text: str) -> str:
    """How Mastodon renders a plain-text status: paragraphs, <br>, links as anchors with
    the scheme hidden in a span, remote mentions shown as @user."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def link(match: re.Match[str]) -> str:
        url = match.group()
        scheme, rest = url.split("://", 1)
        return (
            f'<a href="{url}" rel="nofollow noopener" target="_blank">'
            f'<span class="invisible">{scheme}://</span><span class="ellipsis">{rest[:30]}</span>'
            f'<span class="invisible">{rest[30:]}</span></a>'
        )

    def mention(match: re.Match[str]) -> str:
        return f'<span class="h-card"><a href="#" class="u-url mention">{match.group(1)}</a></span>'

    escaped = _REMOTE.sub(mention, _URL.sub(link, escaped))
    paragraphs = escaped.split("\n\n")
    return "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in paragraphs)


def multipart(request: dict[str, Any]) -> dict[str, bytes]:
    """The fields of a multipart/form-data body."""
    head = f"Content-Type: {request['headers'].get('Content-Type', '')}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request["body"])
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_payload(decode=True) or b""
    return fields


def make_mastodon(server: FakeMastodon | str, tmp: Path, **extra: Any) -> MastodonAdapter:
    base = server if isinstance(server, str) else server.url
    adapter = construct(
        MastodonAdapter,
        "acme_mastodon",
        {"api_base_url": base, "timeout": 2, "media_check_seconds": 0.01, **extra},
        {"access_token": TOKEN},
        tmp,
        tmp / "state",
    )
    assert isinstance(adapter, MastodonAdapter)
    return adapter

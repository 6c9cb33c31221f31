"""Parsing a feed's bytes into items, and items into the variables voices render.

The DOCTYPE internal subset is removed before feedparser sees the bytes: a 62 KB feed with one
large internal entity was measured expanding to 200 MB inside feedparser. Feed text is data:
summaries are turned into plain text (tags dropped, entities decoded, whitespace normalised)
and never rendered as templates.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crosspost.errors import FeedFailure

_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE([^\[>]*)\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_[ce]id)$", re.IGNORECASE)
# Bidi embeddings, overrides, isolates and marks, and control characters other than tab and
# newline: a feed's title can otherwise reverse or hide text in a post.
_UNSAFE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


class MalformedFeed(FeedFailure, ValueError):
    pass


@dataclass(frozen=True)
class Item:
    """One feed entry, as the voices see it."""

    key: str  # identity: guid, else link, else a hash of title and date
    link: str
    canonical: str  # the link without tracking parameters or fragment
    title: str
    summary: str
    categories: tuple[str, ...] = ()
    author: str = ""
    published: datetime | None = None
    image: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    problem: str = ""  # why this item is not posted (a link that is not http or https)


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    items: list[Item]  # newest first


def strip_internal_subset(body: bytes) -> bytes:
    """Remove `<!DOCTYPE x [ ... ]>` internal subsets (entity definitions) entirely."""
    if b"<!DOCTYPE" not in body[:65536].upper() and not _ENTITY_DECL.search(body[:65536]):
        return body
    return _DOCTYPE_SUBSET.sub(rb"<!DOCTYPE\1>", body, count=1)


def parse_feed(body: bytes) -> ParsedFeed:
    import feedparser  # imported here: only polling needs it

    data = feedparser.parse(
        strip_internal_subset(body), resolve_relative_uris=False, sanitize_html=False
    )
    problem = data.get("bozo_exception") if data.bozo else None
    if (
        problem is not None
        and type(problem).__name__ == "SAXParseException"
        and "undefined entity" not in str(problem)
    ):
        # Not well-formed XML. feedparser would guess its way through (a truncated feed gives
        # a half item), and a guess must not be published. HTML entities such as &nbsp; in
        # RSS are the one common, harmless exception.
        raise MalformedFeed(f"malformed XML: {problem}")
    if not data.get("version") and not data.entries:
        raise MalformedFeed("not an RSS or Atom feed")
    items = [_item(entry) for entry in data.entries]
    items.sort(key=lambda item: item.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    return ParsedFeed(title=html.unescape(data.feed.get("title", "")), items=items)


def _item(entry: Any) -> Item:
    link = _UNSAFE.sub("", (entry.get("link", "") or "").strip())
    problem = ""
    if link and not re.match(r"https?://[^\s]+$", link, re.IGNORECASE):
        problem = f"its link {link[:60]!r} is not an http or https address"
        link = ""
    title = plain_text(entry.get("title", ""))
    published = _date(entry.get("published_parsed") or entry.get("updated_parsed"))
    guid = entry.get("id") or ""
    fallback = hashlib.sha256(f"{title}|{published}".encode()).hexdigest()[:24]
    return Item(
        key=guid or link or f"hash:{fallback}",
        link=link,
        canonical=canonical_link(link),
        title=title,
        summary=plain_text(entry.get("summary", "") or ""),
        categories=tuple(t["term"] for t in entry.get("tags", []) if t.get("term")),
        author=plain_text(entry.get("author", "") or ""),
        published=published,
        image=_image(entry),
        problem=problem,
    )


def _date(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _image(entry: Any) -> str:
    """The item's image URL (http or https only)."""
    found = ""
    for media in entry.get("media_content", []):
        if media.get("url") and media.get("medium", "image") == "image":
            found = found or str(media["url"])
    for thumb in entry.get("media_thumbnail", []):
        if thumb.get("url"):
            found = found or str(thumb["url"])
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            found = found or str(link.get("href", ""))
    return found if re.match(r"https?://\S+$", found, re.IGNORECASE) else ""


def canonical_link(url: str) -> str:
    """Same article, same string: no fragment, no tracking parameters, no trailing slash."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), ""))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr"):
            self.parts.append(" ")


def plain_text(value: str) -> str:
    """HTML to one line of text: tags dropped, entities decoded, whitespace normalised,
    bidi controls and control characters removed."""
    if "<" in value or "&" in value:
        parser = _Text()
        parser.feed(value)
        parser.close()
        value = html.unescape("".join(parser.parts))
    return " ".join(_UNSAFE.sub("", value).split())

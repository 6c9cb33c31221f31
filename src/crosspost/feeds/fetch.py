"""Fetching a feed: httpx with timeouts, a size cap, redirects and conditional GET.

feedparser's own fetching has no timeout and no size cap, so it is never used. An unchanged
feed costs one `304 Not Modified` and no parsing. A local path is read from disk, and its
modification time plays the part of `Last-Modified`.

Errors are `FeedError` with a reason a person can act on; the poller logs them once per change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import httpx

from crosspost import __version__

USER_AGENT = f"crosspost/{__version__} (feed relay)"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
TOTAL_SECONDS = 60.0  # a body that trickles in forever is cut here
MAX_REDIRECTS = 5


class FeedError(Exception):
    """The feed could not be fetched; the message says why."""


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since last time
    etag: str | None
    last_modified: str | None
    url: str  # after redirects


def new_client() -> httpx.Client:
    """One client for all feeds, so connections to the same blog are reused."""
    return httpx.Client(
        timeout=TIMEOUT,
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT},
    )


def fetch(
    client: httpx.Client, url: str, etag: str | None, last_modified: str | None, max_bytes: int
) -> Fetched:
    if not url.startswith(("http://", "https://")):
        return _read_file(Path(url), last_modified, max_bytes)
    headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml, */*"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Fetched(None, etag, last_modified, str(response.url))
            if response.status_code >= 400:
                raise FeedError(f"HTTP {response.status_code} {response.reason_phrase}")
            declared = int(response.headers.get("content-length") or 0)
            if declared > max_bytes:
                raise FeedError(f"too large: {declared} bytes declared, limit {max_bytes}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():  # decoded: a gzip bomb hits the cap too
                size += len(chunk)
                if size > max_bytes:
                    raise FeedError(f"too large: more than {max_bytes} bytes")
                if time.monotonic() - started > TOTAL_SECONDS:
                    raise FeedError(f"too slow: still sending after {TOTAL_SECONDS:.0f}s")
                chunks.append(chunk)
            return Fetched(
                b"".join(chunks),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                str(response.url),
            )
    except httpx.TooManyRedirects as exc:
        raise FeedError(f"more than {MAX_REDIRECTS} redirects") from exc
    except httpx.TimeoutException as exc:
        raise FeedError(f"timeout ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        raise FeedError(f"cannot connect: {exc}") from exc
    except httpx.HTTPError as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}") from exc


def _read_file(path: Path, last_modified: str | None, max_bytes: int) -> Fetched:
    try:
        stat = path.stat()
        stamp = formatdate(stat.st_mtime, usegmt=True) + f" {stat.st_size}"
        if stamp == last_modified:
            return Fetched(None, None, last_modified, str(path))
        if stat.st_size > max_bytes:
            raise FeedError(f"too large: {stat.st_size} bytes, limit {max_bytes}")
        return Fetched(path.read_bytes(), None, stamp, str(path))
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror}") from exc

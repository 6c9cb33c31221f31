"""Fetching a feed: httpx with a size cap, one deadline, checked redirects, conditional GET.

feedparser's own fetching has no timeout and no size cap, so it is never used. Every fetch
is bounded: one wall-clock deadline for the whole of it (`TOTAL_SECONDS`, headers included),
`max_bytes` counted after decompression, at most `MAX_REDIRECTS` redirects, each to http or
https only and never into an address of a kind the feed's own URL is not (see `guard`). An
unchanged feed costs one `304 Not Modified` and no parsing. A local path must be a regular
file; it is read within `max_bytes`, and its modification time plays `Last-Modified`.

Errors are `FeedError` with a reason a person can act on; the poller logs them once per change.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import httpx

from crosspost import __version__
from crosspost.errors import FeedFailure
from crosspost.sources.feeds import guard

USER_AGENT = f"crosspost/{__version__} (feed relay)"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
TOTAL_SECONDS = 60.0  # a body that trickles in forever is cut here
MAX_REDIRECTS = 5


class FeedError(FeedFailure):
    """The feed could not be fetched; the message says why."""


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since last time
    etag: str | None
    last_modified: str | None
    url: str  # after redirects


def new_client() -> httpx.Client:
    """One client for all feeds, so connections to the same blog are reused. Its sockets are
    made by `guard.GuardedBackend` (httpx has no public hook for the network backend, so it
    is set on the transport's connection pool; a test fails if that stops working)."""
    transport = httpx.HTTPTransport()
    transport._pool._network_backend = guard.GuardedBackend()
    return httpx.Client(
        transport=transport,
        timeout=TIMEOUT,
        follow_redirects=False,  # followed here, one checked step at a time
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
    first = httpx.URL(url)
    guard.use(guard.policy_for(first.host, first.port or _PORTS[first.scheme], TOTAL_SECONDS))
    try:
        for _ in range(MAX_REDIRECTS + 1):
            fetched = _get(client, url, headers, etag, last_modified, max_bytes)
            if isinstance(fetched, Fetched):
                return fetched
            url = fetched
        raise FeedError(f"more than {MAX_REDIRECTS} redirects")
    finally:
        guard.use(None)


_PORTS = {"http": 80, "https": 443}


def _get(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
) -> Fetched | str:
    """One request: what was fetched, or the URL a redirect leads to (checked)."""
    try:
        target = httpx.URL(url)
        guard.check(target.host, target.port or _PORTS[target.scheme])  # a reused connection
        with client.stream("GET", url, headers=headers) as response:
            if response.has_redirect_location:
                location = response.url.join(response.headers["location"])
                if location.scheme not in ("http", "https"):
                    raise FeedError(f"redirected to a {location.scheme}: address, refused")
                return str(location)
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
                chunks.append(chunk)
            return Fetched(
                b"".join(chunks),
                response.headers.get("etag"),
                response.headers.get("last-modified"),
                str(response.url),
            )
    except guard.BlockedAddress as exc:
        raise FeedError(f"redirect refused: {exc}") from exc
    except httpx.TimeoutException as exc:
        if guard.expired():
            raise FeedError(f"too slow: no complete answer within {TOTAL_SECONDS:.0f} s") from exc
        raise FeedError(f"timeout ({type(exc).__name__})") from exc
    except httpx.ConnectError as exc:
        if isinstance(exc.__cause__, guard.BlockedAddress):
            raise FeedError(f"redirect refused: {exc}") from exc
        raise FeedError(f"cannot connect: {exc}") from exc
    except (httpx.HTTPError, OSError) as exc:
        raise FeedError(f"{type(exc).__name__}: {exc}") from exc


def _read_file(path: Path, last_modified: str | None, max_bytes: int) -> Fetched:
    """A local feed: a regular file (not /dev/zero or a FIFO), read within `max_bytes`."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise FeedError(f"{path} is not a regular file")
        stamp = formatdate(info.st_mtime, usegmt=True) + f" {info.st_size}"
        if stamp == last_modified:
            return Fetched(None, None, last_modified, str(path))
        if info.st_size > max_bytes:
            raise FeedError(f"too large: {info.st_size} bytes, limit {max_bytes}")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise FeedError(f"{path} is not a regular file")
            body = handle.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise FeedError(f"too large: more than {max_bytes} bytes")
        return Fetched(body, None, stamp, str(path))
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror}") from exc

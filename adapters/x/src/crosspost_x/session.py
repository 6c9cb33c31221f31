"""The HTTP layer under tweepy: a timeout on every request, an optional base URL, and the
mapping from requests' and tweepy's exceptions to crosspost's error classes.

tweepy 4.17 hard-codes ``https://api.twitter.com`` and sets no timeout, so a `Transport`
(a requests `HTTPAdapter`) is mounted on the client's session for both X hosts: it adds the
timeout and, when `api_base_url` is set, sends the request there instead (API gateways, tests).
OAuth 1.0a signatures are computed over the X URL before the rewrite, as X expects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import tweepy
from requests.adapters import HTTPAdapter

from crosspost.adapter import (
    AuthError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    transport_error,
)

X_HOSTS = ("https://api.twitter.com", "https://api.x.com")
DEFAULT_BASE = "https://api.x.com"


class Transport(HTTPAdapter):
    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(max_retries=0)
        self.base = urlsplit(base_url.rstrip("/"))
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        url = urlsplit(request.url or "")
        prefix = self.base.path
        request.url = urlunsplit(
            (self.base.scheme, self.base.netloc, prefix + url.path, url.query, url.fragment)
        )
        return super().send(request, **kwargs)


def mount(session: requests.Session, base_url: str, timeout: float) -> None:
    """Route both X hosts through one `Transport` (to `base_url`, with `timeout`)."""
    transport = Transport(base_url, timeout)
    for host in X_HOSTS:
        session.mount(host, transport)


def classify(exc: Exception, *, sent: bool) -> PublishError:
    """Turn what tweepy or requests raised into our error classes.

    `sent`: the request was a write that may have reached X, so a lost answer means the
    outcome is unknown rather than a plain failure.
    """
    if isinstance(exc, tweepy.TooManyRequests):
        reset = datetime.fromtimestamp(exc.reset_time, UTC) if exc.reset_time is not None else None
        return RateLimited(f"X rate limit reached: {_reason(exc)}", reset)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthError(f"X refused the credentials: {_reason(exc)}")
    if isinstance(exc, tweepy.Forbidden):
        reason = _reason(exc)
        if "duplicate" in reason.lower():
            return PermanentError(f"X refused duplicate content: {reason}")
        return PermanentError(
            f"X forbade it (missing permission? see the adapter README): {reason}"
        )
    if isinstance(exc, tweepy.TwitterServerError):
        return TransientError(f"X server error: {_reason(exc)}")
    if isinstance(exc, tweepy.HTTPException):
        return PermanentError(f"X refused the request: {_reason(exc)}")
    if isinstance(exc, requests.RequestException):
        return transport_error(exc, "X", write=sent)
    raise exc


def _reason(exc: tweepy.HTTPException) -> str:
    status = exc.response.status_code
    messages = "; ".join(str(m) for m in exc.api_messages) or exc.response.reason or ""
    return f"{status} {messages}".strip()

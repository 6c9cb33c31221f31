"""Mastodon.py's exceptions to crosspost's error classes, in one place.

Mastodon.py wraps every requests exception in `MastodonNetworkError` (the original is its
`__context__`), so whether the request left is read from that original; a 429 with
``ratelimit_method="throw"`` is `MastodonRatelimitError`, and the reset Mastodon.py parsed
from ``X-RateLimit-Reset`` (adjusted by the server's Date) is on the client.
"""

from __future__ import annotations

import time
from datetime import timedelta

from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonError,
    MastodonNetworkError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from crosspost.adapter import (
    AuthError,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
    transport_error,
)


def classify(exc: Exception, api: Mastodon, *, sent: bool) -> PublishError:
    """The error class of a failed call; `sent`: the call was the one that publishes."""
    if isinstance(exc, PublishError):
        return exc
    if isinstance(exc, MastodonRatelimitError):
        # Mastodon.py moves the instance's reset onto this machine's wall clock (by the
        # Date header): as a wait from now, it holds whatever clock the core runs on.
        reset = api.ratelimit_reset
        wait = timedelta(seconds=max(reset - time.time(), 1)) if reset else None
        return RateLimited("Mastodon: rate limit reached (429)", retry_after=wait)
    if isinstance(exc, MastodonNetworkError):
        original = exc.__context__ if isinstance(exc.__context__, Exception) else exc
        return transport_error(original, "Mastodon", write=sent)
    if isinstance(exc, MastodonAPIError):
        status, reason = _status(exc)
        if isinstance(exc, MastodonUnauthorizedError):
            return AuthError(f"{reason} (the access token was revoked: crosspost auth ACCOUNT)")
        if status == 403 and "scope" in reason.lower():
            return AuthError(f"{reason} (the token lacks a scope: see the Mastodon README)")
        if isinstance(exc, MastodonServerError) or status >= 500:
            return TransientError(reason)
        return PermanentError(reason)
    if isinstance(exc, MastodonError):
        return PermanentError(f"Mastodon: {exc}")
    return TransientError(f"Mastodon: unexpected {type(exc).__name__}: {exc}")


def _status(exc: MastodonAPIError) -> tuple[int, str]:
    """(HTTP status, "Mastodon 422: <the instance's error text>") from Mastodon.py's args:
    ('Mastodon API returned error', status, reason phrase, error text)."""
    args = exc.args
    status = args[1] if len(args) > 1 and isinstance(args[1], int) else 0
    text = args[3] if len(args) > 3 and args[3] else (args[2] if len(args) > 2 else args[0])
    return status, f"Mastodon {status or ''}: {text}".replace(" :", ":")

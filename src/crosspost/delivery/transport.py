"""Did the request leave? One answer for every adapter, whatever HTTP library it uses.

A failure before the request left (connection refused, DNS, TLS handshake, connect timeout,
no free connection) cannot have published anything: it is an ordinary retry. A failure after
it left (a connection reset or closed while waiting for the answer, a read timeout, a write
cut off half-way) may have published the post: for a write, the outcome is unknown and the
delivery is reconciled, never retried blindly. Facebook, Instagram and LinkedIn once retried
resets blindly and posted twice; classifying here, once, keeps every adapter the same.

Exceptions are recognised by class name and module, so the core imports neither httpx nor
requests for it (an adapter brings the library it uses).
"""

from __future__ import annotations

from crosspost.errors import OutcomeUnknown, PublishError, TransientError

# Failures that happen before a byte of the request is sent.
_BEFORE = {
    "httpx.ConnectError",
    "httpx.ConnectTimeout",
    "httpx.PoolTimeout",
    "httpx.UnsupportedProtocol",
    "requests.exceptions.ConnectTimeout",
    "requests.exceptions.SSLError",
    "requests.exceptions.InvalidURL",
    "urllib3.exceptions.NewConnectionError",
    "urllib3.exceptions.NameResolutionError",
    "urllib3.exceptions.ConnectTimeoutError",
    "socket.gaierror",
    "ConnectionRefusedError",
}


def _names(exc: BaseException) -> set[str]:
    """'module.Class' for the exception's classes, and for its causes' (requests wraps)."""
    found: set[str] = set()
    seen: BaseException | None = exc
    depth = 0
    while seen is not None and depth < 6:
        for cls in type(seen).__mro__:
            module = cls.__module__.split("._")[0]
            found.add(cls.__name__ if module == "builtins" else f"{module}.{cls.__name__}")
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = getattr(seen, "reason", None) or inner or seen.__cause__ or seen.__context__
        depth += 1
    return found


def left_before_sending(exc: BaseException) -> bool:
    """Whether the request certainly never left (so nothing can have been published)."""
    return bool(_names(exc) & _BEFORE)


def transport_error(exc: BaseException, network: str, *, write: bool) -> PublishError:
    """The classified error for a failure with no answer from `network`.

    `write`: the request creates something (a post), so a failure after it left is an
    unknown outcome rather than a plain retry.
    """
    kind = type(exc).__name__
    if left_before_sending(exc):
        return TransientError(f"cannot reach {network} ({kind}); nothing was sent")
    if write:
        return OutcomeUnknown(
            f"no answer from {network} after the request was sent ({kind}); it may be published"
        )
    return TransientError(f"no answer from {network} ({kind})")

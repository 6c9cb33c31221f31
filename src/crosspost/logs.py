"""One log line per event on stdout, secrets redacted everywhere.

structlog renders our events; the standard-library loggers (httpx, tweepy, urllib3…) are
routed through the same processors, so the redaction that hides a token in our lines also
hides it in theirs (tweepy logs the bearer token at DEBUG).
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

import structlog

REDACTED = "[redacted]"
_SENSITIVE_KEYS = re.compile(r"token|secret|password|passwd|authorization|api_key|cookie", re.I)
_BEARER = re.compile(r"(Bearer|OAuth|Basic)\s+[A-Za-z0-9._~+/=,\"-]+", re.I)


def encoded_forms(secret: str) -> set[str]:
    """The ways a secret shows up in a log line or an error: as written, trimmed,
    percent-encoded (a query string, a form body) and base64 (an HTTP Basic header, a JWT
    segment), at each of the three alignments it can have inside a longer base64 text."""
    forms = {secret, secret.strip(), quote(secret, safe=""), quote_plus(secret)}
    raw = secret.strip().encode()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode().rstrip("=")
        # Characters that depend only on the secret's bytes, not on what comes before or after.
        start, end = -(-shift * 4 // 3), (shift + len(raw)) * 4 // 3
        middle = encoded[start:end]
        if len(middle) >= 8:
            forms |= {middle, middle.replace("+", "-").replace("/", "_")}
    return {form for form in forms if len(form) >= 4}


class Redactor:
    """A structlog processor: hides known secret values (in every encoding `encoded_forms`
    lists) and values of sensitive-looking keys."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self._pattern: re.Pattern[str] | None = None

    def update(self, secrets: Iterable[str]) -> None:
        """Redact exactly these (the secrets file, loaded again on every reload)."""
        self.secrets = sorted({s for s in secrets if len(s.strip()) >= 4})
        forms = {form for secret in self.secrets for form in encoded_forms(secret)}
        # Longest first, so a secret that contains another is hidden whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def add(self, secrets: Iterable[str]) -> None:
        """Redact these as well: tokens an adapter obtains at run time (OAuth refresh)."""
        self.update([*self.secrets, *secrets])

    def scrub(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)

    def __call__(
        self, _logger: Any, _name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            if value is None:
                del event[key]  # one line per event: only what is known
            elif _SENSITIVE_KEYS.search(key) and key != "event":
                event[key] = REDACTED
            elif isinstance(value, str):
                event[key] = self.scrub(value)
            elif value is not None and not isinstance(value, int | float | bool):
                event[key] = self.scrub(str(value))
        return event


REDACTOR = Redactor()


def configure(fmt: str = "logfmt", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog and the standard library through one pipeline ending in `fmt`."""
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    elif fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.LogfmtRenderer(
            key_order=["timestamp", "level", "event"], drop_missing=True
        )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        REDACTOR,
    ]
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "watchfiles"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get(name: str = "crosspost") -> Any:
    return structlog.get_logger(name)

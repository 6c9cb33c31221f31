"""One log line per event on stdout, secrets redacted everywhere.

structlog renders our events; the standard-library loggers (httpx, tweepy, urllib3…) are
routed through the same processors, so the redaction that hides a token in our lines also
hides it in theirs (tweepy logs the bearer token at DEBUG).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"
_SENSITIVE_KEYS = re.compile(r"token|secret|password|passwd|authorization|api_key|cookie", re.I)
_BEARER = re.compile(r"(Bearer|OAuth|Basic)\s+[A-Za-z0-9._~+/=,\"-]+", re.I)


class Redactor:
    """A structlog processor: hides known secret values and values of sensitive-looking keys."""

    def __init__(self) -> None:
        self.secrets: list[str] = []

    def update(self, secrets: Iterable[str]) -> None:
        """Redact exactly these (the secrets file, loaded again on every reload)."""
        # Longest first, so a secret that contains another is hidden whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        """Redact these as well: tokens an adapter obtains at run time (OAuth refresh)."""
        self.update([*self.secrets, *secrets])

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
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

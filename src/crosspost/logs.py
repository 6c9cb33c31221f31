"""One log line per event on stdout, secrets redacted everywhere.

structlog renders our events; the standard-library loggers (httpx, tweepy, urllib3…) are
routed through the same processors, so the redaction that hides a token in our lines also
hides it in theirs (tweepy logs the bearer token at DEBUG).

Under systemd, stdout goes to journald, which files every line as "info" unless the line
starts with its syslog priority (``<3>`` for an error, ``<4>`` for a warning). When
``JOURNAL_STREAM`` names our stdout, every line gets that prefix, so
``journalctl -u crosspost -p warning`` shows exactly the problems.
"""

from __future__ import annotations

import base64
import logging
import os
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
        self.secrets: list[str] = []  # from the secrets file
        self.obtained: set[str] = set()  # obtained at run time: kept across reloads
        self._pattern: re.Pattern[str] | None = None

    def update(self, secrets: Iterable[str]) -> None:
        """Redact these (the secrets file, loaded again on every reload), and what `add` gave."""
        self.secrets = sorted({s for s in secrets if len(s.strip()) >= 4})
        self._compile()

    def add(self, secrets: Iterable[str]) -> None:
        """Redact these as well: tokens an adapter obtains at run time (OAuth refresh)."""
        self.obtained |= {s for s in secrets if len(s.strip()) >= 4}
        self._compile()

    def _compile(self) -> None:
        forms = {
            form for secret in {*self.secrets, *self.obtained} for form in encoded_forms(secret)
        }
        # Longest first, so a secret that contains another is hidden whole.
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

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
    output = stream or sys.stdout
    handler = logging.StreamHandler(output)
    formatter = JournalFormatter if to_journal(output) else structlog.stdlib.ProcessorFormatter
    handler.setFormatter(
        formatter(
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


_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


class JournalFormatter(structlog.stdlib.ProcessorFormatter):
    """Each line prefixed with its syslog priority, which journald reads and strips (every
    line of a traceback too, or its later lines would be filed as info)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_PRIORITY.get(record.levelname, 6)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def to_journal(stream: TextIO) -> bool:
    """Whether `stream` is the journal: systemd sets JOURNAL_STREAM to its device:inode."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return bool(expected) and expected == f"{info.st_dev}:{info.st_ino}"


def get(name: str = "crosspost") -> Any:
    return structlog.get_logger(name)

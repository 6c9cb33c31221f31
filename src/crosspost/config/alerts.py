"""The `[alerts]` table of crosspost.toml (where alerts go, which events, the daily digest)
and `[daemon] metrics`: how the people in charge hear of the daemon without reading its log.

An alert URL is an apprise URL (mailtos://, slack://, ntfy://, json://…). A URL that
carries a credential (a password, a webhook token) belongs in the secrets file, as
``[alerts.NAME] url = "…"``; the config may hold only a URL with nothing secret in it. Both
are checked here, so `check` and the daemon report a bad one the same way.
"""

from __future__ import annotations

import difflib
import re
from datetime import time
from typing import TYPE_CHECKING
from urllib.parse import unquote

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crosspost.config.problems import Problem, echo

if TYPE_CHECKING:
    from crosspost.config.settings import Config

EVENTS = (
    "failed",  # a delivery failed and will not be retried by itself
    "in_doubt",  # it may be on the network: a person looks and resolves it
    "held",  # the charter or a missing approval holds it
    "warning",  # sent, but a person should look (its first comment may be missing...)
    "paused",  # an account's credentials were refused: nothing goes to it
    "token_expiring",  # a token runs out within 7 days
    "token_expired",
    "feed_failing",  # a feed failed 3 polls in a row
    "feed_recovered",  # a feed that was reported failing answers again
    "missed",  # due while no daemon ran, later than catch_up: not sent
    "crashed",  # a daemon died without stopping; this start took over
    "digest",  # the daily summary
    "report",  # the weekly results report, with the HTML file attached
)
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AlertTarget(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str = ""  # without credentials only; else in the secrets file
    events: list[str] = Field(default_factory=lambda: list(EVENTS))

    @field_validator("events")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        for value in values:
            if value not in EVENTS:
                close = difflib.get_close_matches(value, EVENTS, n=1)
                hint = f"did you mean {close[0]!r}?" if close else "known:"
                raise ValueError(f"unknown event {echo(value)}; {hint} {', '.join(EVENTS)}")
        return values


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    digest: str = ""  # "18:00" in the daemon's time zone; empty: no digest
    report: str = ""  # "mon 08:00": last week's results report; empty: none
    targets: dict[str, AlertTarget] = Field(default_factory=dict)

    @field_validator("digest")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if value and not HHMM.match(value.strip()):
            raise ValueError(f"digest = {echo(value)}: write a time of day as HH:MM, like 18:00")
        return value.strip()

    @field_validator("report")
    @classmethod
    def _weekly_time(cls, value: str) -> str:
        day, _, at = value.strip().lower().partition(" ")
        if value and (day not in DAYS or not HHMM.match(at.strip())):
            raise ValueError(f"report = {echo(value)}: write a weekday and a time, like "
                             '"mon 08:00" (mon, tue, wed, thu, fri, sat, sun)')  # fmt: skip
        return value.strip().lower()

    @property
    def report_at(self) -> tuple[str, time] | None:
        """(weekday, time of day) of the weekly report, or None."""
        day, _, at = self.report.partition(" ")
        match = HHMM.match(at.strip())
        return (day, time(int(match.group(1)), int(match.group(2)))) if match else None

    @property
    def digest_time(self) -> time | None:
        match = HHMM.match(self.digest)
        return time(int(match.group(1)), int(match.group(2))) if match else None


def alert_urls(
    config: Config, secret_urls: dict[str, tuple[str, int]]
) -> tuple[dict[str, str], list[Problem]]:
    """Each target's URL (the secrets file's, else the config's), and what is wrong with them:
    a URL apprise does not know, a credential written in the config, a target with no URL."""
    urls: dict[str, str] = {}
    problems: list[Problem] = []
    secrets = str(config.secrets_path() or "the secrets file")
    for name, target in config.alerts.targets.items():
        table = f"alerts.targets.{name}"
        url = secret_urls[name][0] if name in secret_urls else target.url
        if not url:
            message = (f"target {name} has no url: write url = \"…\" here, or [alerts.{name}] "
                       f"url = \"…\" in {secrets} when it carries a password or token")  # fmt: skip
            problems.append(config.problem(table, 0, "", message))
            continue
        where = config.problem(table, 0, "url", "")
        if name in secret_urls:
            where = Problem(secrets, secret_urls[name][1], f"alerts.{name}.url", "")
        found = apprise_problem(url)
        if found:
            problems.append(Problem(where.file, where.line, where.key, found))
            continue
        if name not in secret_urls and secret_parts(url):
            message = (f"this URL carries a credential: move it to {secrets} as "
                       f"[alerts.{name}] url = \"…\" and delete it here")  # fmt: skip
            problems.append(Problem(where.file, where.line, where.key, message))
            continue
        urls[name] = url
    return urls, problems


def apprise_problem(url: str) -> str:
    """Why apprise cannot use this URL ("" when it can), never echoing the URL itself."""
    import apprise  # only with alerts configured: 0.2 s and 15 MB

    scheme = url.split("://", 1)[0] if "://" in url else ""
    if not scheme:
        return "not an alert URL: write it like mailtos://user:pass@example.com or json://host/"
    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        return (f"apprise cannot use this {scheme}:// URL (an unknown service, or a part "
                "missing): see the apprise wiki's page for that service")  # fmt: skip
    return ""


def secret_parts(url: str) -> set[str]:
    """The parts of an apprise URL that apprise itself hides when it shows the URL: its
    passwords and tokens, whatever the service. They are what the log redactor must hide."""
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return set()
    shown = unquote(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
    parts = re.split(r"[/:@?&=#,]", unquote(url.split("://", 1)[-1]))
    return {part for part in parts if len(part) >= 4 and part not in shown}


def metrics_address(value: str) -> tuple[str, int]:
    """ "HOST:PORT" (or ":PORT", on loopback) as (host, port); ValueError says how to write it."""
    host, colon, port = value.strip().rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"metrics = {echo(value)}: write HOST:PORT, like 127.0.0.1:9464")
    return host.strip("[]") or "127.0.0.1", int(port)

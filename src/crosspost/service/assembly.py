"""Everything the daemon needs from the files people edit, loaded and checked in one place.

`load_setup` is used by `run` (at start and on every reload), `check`, `preview` and
`upcoming`, so they can never disagree about what the files mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from crosspost.adapter import (
    Adapter,
    AdapterClass,
    AdapterConfigError,
    AuthError,
    MissingSecret,
    OutgoingPost,
    Receipt,
    construct,
)
from crosspost.config.alerts import alert_urls
from crosspost.config.charter import charter_rules
from crosspost.config.problems import ConfigError, Problem
from crosspost.config.secrets import EXPIRES, load_secrets
from crosspost.config.secrets import alert_urls as secret_alert_urls
from crosspost.config.settings import Config, load_config
from crosspost.registry import AdapterNotInstalled, find_adapter
from crosspost.render.charter import Charter, rule_problems
from crosspost.render.textrules import TextRules
from crosspost.render.voice import VoiceError, validate_voice
from crosspost.sources.calendar import Calendar
from crosspost.sources.calendar_load import load_calendar


class Unavailable:
    """Stands in for an account whose secrets are missing or unusable: `check` still knows
    its network's rules, and publishing or verifying says why it cannot, as an auth error
    (the daemon keeps that account paused and goes on with the others)."""

    network: ClassVar[str] = "unavailable"

    def __init__(self, factory: AdapterClass, reason: str) -> None:
        declared = getattr(factory, "rules", None)
        self.rules = declared if isinstance(declared, TextRules) else TextRules(limit=63206)
        self.reason = reason

    def verify(self) -> str:
        raise AuthError(self.reason)

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        raise AuthError(self.reason)


@dataclass
class Setup:
    config: Config
    calendar: Calendar
    adapters: dict[str, Adapter]
    warnings: list[Problem] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # account -> why
    alert_urls: dict[str, str] = field(default_factory=dict)  # target -> its apprise URL
    charter: Charter = field(default_factory=lambda: Charter([]))

    @property
    def problems(self) -> list[Problem]:
        """Calendar problems (bad entries are skipped, the rest runs) and warnings."""
        return [*self.calendar.problems, *self.warnings]


def load_setup(
    path: Path,
    previous: Setup | None = None,
    state_dir: Path | None = None,
    calendars: list[str] | None = None,
) -> Setup:
    """Load config, secrets, adapters and calendars.

    Raises ConfigError when the config itself is unusable (the daemon exits 78 at start, or
    keeps `previous` on reload). Calendar problems do not raise: bad entries are skipped
    (or their last good version kept) and listed in `Setup.problems`.
    """
    config = load_config(path, state_dir, calendars)
    problems: list[Problem] = []
    for name, voice in config.voices.items():
        try:
            validate_voice(voice)
        except VoiceError as exc:
            problems.append(config.problem(f"voices.{name}", 0, "template", str(exc)))
    secrets, warnings = load_secrets(config.secrets_path())
    adapters: dict[str, Adapter] = {}
    unavailable: dict[str, str] = {}
    for name, account in config.accounts.items():
        table = f"accounts.{name}"
        try:
            factory = find_adapter(account.network, config.adapters, config.base_dir)
            adapters[name] = construct(
                factory,
                name,
                account.adapter_keys,
                secrets.get(name, {}),
                config.base_dir,
                config.state_dir,
            )
        except AdapterNotInstalled as exc:
            problems.append(config.problem(table, 0, "network", str(exc)))
        except MissingSecret as exc:
            unusable = _secret_problem(warnings, name)
            unavailable[name] = unusable or str(exc)
            adapters[name] = Unavailable(factory, unavailable[name])
            if not unusable:  # a teammate's clone has no secrets: `check` still works
                warnings.append(config.problem(table, 0, "network", str(exc)).as_note())
        except AdapterConfigError as exc:
            problems.append(config.problem(table, 0, exc.key, str(exc)))
    rules, found = charter_rules(config)
    problems += found + rule_problems(rules)  # a charter that cannot be read holds everything
    if problems:
        raise ConfigError(problems)
    urls: dict[str, str] = {}
    if config.alerts.targets:  # a bad one is reported; it never stops the publishing
        urls, bad = alert_urls(config, secret_alert_urls(config.secrets_path()))
        warnings += bad
    calendar = load_calendar(config, previous.calendar if previous else None)
    charter = Charter([rule for rule, _ in rules])
    return Setup(config, calendar, adapters, warnings, unavailable, urls, charter)


def _secret_problem(problems: list[Problem], account: str) -> str:
    """Why the secrets file makes `account` unusable, if it does (not an expiry)."""
    for problem in problems:
        key = problem.key
        ours = key.startswith(f"accounts.{account}.") and not key.endswith(EXPIRES)
        if problem.severity == "error" and ours:
            return problem.message
    return ""

"""The daemon's config file (crosspost.toml): daemon settings, voices and accounts.

Parsing is strict (unknown keys are errors, with a "did you mean") because a typo in a file
nobody reads again would otherwise silently change what gets published.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crosspost.config.alerts import AlertSettings, AlertTarget
from crosspost.config.charter import CharterRule, CharterSettings
from crosspost.config.daemon import DaemonSettings
from crosspost.config.feeds import FeedSettings, feed_problems
from crosspost.config.people import AuthorSettings
from crosspost.config.problems import ConfigError, LineFinder, Problem, echo, explain, read_toml
from crosspost.config.slots import parse_slot

DEFAULT_TEMPLATE = (
    "{{ text }}"
    "{% if link %}\n\n{{ link }}{% endif %}"
    "{% if hashtags %}\n\n{{ hashtags }}{% endif %}"
    "{% if author %}\n{{ author.signature }}{% elif signature %}\n{{ signature }}{% endif %}"
)


SECRET_KEY = re.compile(r"token|secret|password|api_key", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VoiceSettings(_Strict):
    template: str = DEFAULT_TEMPLATE
    hashtags: list[str] = Field(default_factory=list)
    signature: str = ""
    utm: dict[str, str] = Field(default_factory=dict)
    overflow: Literal["truncate", "thread", "reject"] = "truncate"
    # Network options the voice passes to its accounts' adapters with every post, such as
    # Mastodon's visibility or a content warning; each adapter's README lists its own.
    options: dict[str, str] = Field(default_factory=dict)


class AccountSettings(BaseModel):
    """`network` and `voice` are ours; every other key belongs to the network's adapter."""

    model_config = ConfigDict(extra="allow", frozen=True)
    network: str
    voice: str = "default"
    slots: list[str] = Field(default_factory=list)  # for feeds with mode = "slots"
    max_per_day: int = Field(default=0, ge=0)  # feed items a day at most; 0: no cap
    approval: Literal["", "none", "required"] = ""  # empty: as [daemon] approval says

    @field_validator("slots")
    @classmethod
    def _slots(cls, values: list[str]) -> list[str]:
        for value in values:
            parse_slot(value)
        return values

    @property
    def adapter_keys(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
LOCAL_ADAPTER = re.compile(r"^[^:]+\.py:[A-Za-z_][A-Za-z0-9_]*$")


class _ConfigFile(_Strict):
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    voices: dict[str, VoiceSettings] = Field(default_factory=dict)
    accounts: dict[str, AccountSettings] = Field(default_factory=dict)
    feeds: dict[str, FeedSettings] = Field(default_factory=dict)
    adapters: dict[str, str] = Field(default_factory=dict)  # local adapter files, opt-in
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    charter: CharterSettings = Field(default_factory=CharterSettings)
    authors: dict[str, AuthorSettings] = Field(default_factory=dict)

    @field_validator("accounts")
    @classmethod
    def _slugs(cls, accounts: dict[str, AccountSettings]) -> dict[str, AccountSettings]:
        for name in accounts:
            if not ACCOUNT_NAME.match(name):
                raise ValueError(
                    f"account name {echo(name)} must be letters, digits, - and _ (it names "
                    "folders and log fields)"
                )
        return accounts

    @field_validator("adapters")
    @classmethod
    def _local_files(cls, adapters: dict[str, str]) -> dict[str, str]:
        for name, spec in adapters.items():
            if not LOCAL_ADAPTER.match(spec) or not ACCOUNT_NAME.match(name):
                raise ValueError(
                    f'[adapters] {name} = {echo(spec)}: write it as "path/to/file.py:ClassName"'
                )
        return adapters


SYSTEMD_VARIABLES = ("STATE_DIRECTORY", "CREDENTIALS_DIRECTORY")


def read_environment() -> dict[str, str]:
    """The variables systemd sets for the unit, read once per load: the rest of crosspost
    asks the Config, so a test gives it an environment instead of patching os.environ."""
    return {name: os.environ[name] for name in SYSTEMD_VARIABLES if name in os.environ}


@dataclass(frozen=True)
class Config:
    path: Path
    daemon: DaemonSettings
    voices: dict[str, VoiceSettings]
    accounts: dict[str, AccountSettings]
    lines: LineFinder = field(repr=False, compare=False)
    feeds: dict[str, FeedSettings] = field(default_factory=dict)
    adapters: dict[str, str] = field(default_factory=dict)
    # What systemd says, read once when the config loads (see `read_environment`).
    environment: Mapping[str, str] = field(default_factory=dict)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    charter: CharterSettings = field(default_factory=CharterSettings)
    authors: dict[str, AuthorSettings] = field(default_factory=dict)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.daemon.timezone)

    @property
    def catch_up(self) -> timedelta:
        return self.daemon.catch_up

    @property
    def give_up_after(self) -> timedelta:
        return self.daemon.give_up_after

    @property
    def retry_backoff(self) -> timedelta:
        return self.daemon.retry_backoff

    @property
    def lease(self) -> timedelta:
        return self.daemon.lease

    def resolve(self, path: str) -> Path:
        """Paths in the config are relative to the config file's directory."""
        joined = self.base_dir / os.path.expanduser(path)
        try:
            return joined.resolve()
        except (OSError, RuntimeError):  # a symlink loop: reading it will say so
            return Path(os.path.abspath(joined))

    @property
    def state_dir(self) -> Path:
        """systemd's StateDirectory= wins unless the config names a state_dir itself."""
        if "state_dir" not in self.daemon.model_fields_set and self.systemd_state_dir:
            return Path(self.systemd_state_dir)
        return self.resolve(self.daemon.state_dir)

    @property
    def systemd_state_dir(self) -> str:
        """StateDirectory= of the unit, as $STATE_DIRECTORY, or ""."""
        return self.environment.get("STATE_DIRECTORY", "")

    @property
    def credentials_dir(self) -> str:
        """LoadCredential='s folder, as $CREDENTIALS_DIRECTORY, or ""."""
        return self.environment.get("CREDENTIALS_DIRECTORY", "")

    @property
    def database_url(self) -> str:
        return self.daemon.database or f"sqlite:///{self.state_dir / 'crosspost.db'}"

    def secrets_path(self) -> Path | None:
        """The secrets file: the config's `secrets`, else systemd's credential, else none."""
        if self.daemon.secrets:
            return self.resolve(self.daemon.secrets)
        creds = self.credentials_dir
        if creds and (Path(creds) / "secrets").is_file():
            return Path(creds) / "secrets"
        return None

    def problem(self, table: str, index: int, key: str, message: str) -> Problem:
        return Problem(
            str(self.path),
            self.lines.key_line(table, index, key),
            f"{table}.{key}" if key else table,
            message,
        )


def load_config(
    path: Path, state_dir: Path | None = None, calendars: list[str] | None = None
) -> Config:
    """Read and validate crosspost.toml; raise ConfigError listing every problem.

    `state_dir` (--state-dir) overrides the config's and systemd's; `calendars`
    (check --calendars, relative to the current folder) replaces the config's list."""
    data, text = read_toml(path)
    if state_dir is not None:
        data.setdefault("daemon", {})["state_dir"] = str(state_dir.resolve())
    if calendars is not None:
        data.setdefault("daemon", {})["calendars"] = [os.path.abspath(c) for c in calendars]
    lines = LineFinder(text)
    try:
        parsed = _ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_problem_from(path, lines, err, data) for err in exc.errors()]) from exc
    voices = {"default": VoiceSettings(), **parsed.voices}
    config = Config(
        path.resolve(),
        parsed.daemon,
        voices,
        parsed.accounts,
        lines,
        parsed.feeds,
        parsed.adapters,
        read_environment(),
        parsed.alerts,
        parsed.charter,
        parsed.authors,
    )
    problems = [
        config.problem(
            f"accounts.{name}",
            0,
            "voice",
            f"unknown voice {account.voice!r}; define [voices.{account.voice}] "
            f"or use one of: {', '.join(sorted(voices))}",
        )
        for name, account in parsed.accounts.items()
        if account.voice not in voices
    ]
    problems += [
        config.problem(
            f"accounts.{name}",
            0,
            key,
            f"{key!r} looks like a credential: move it to the secrets file "
            f"([accounts.{name}] there), so it never ends up in a repository or a log",
        )
        for name, account in parsed.accounts.items()
        for key in account.adapter_keys
        if SECRET_KEY.search(key)
    ]
    problems += feed_problems(config)
    if problems:
        raise ConfigError(problems)
    return config


def _problem_from(path: Path, lines: LineFinder, err: Any, data: dict[str, Any]) -> Problem:
    loc = [str(part) for part in err["loc"]]
    table, key = ".".join(loc[:-1]), loc[-1]
    message = explain(err, _known_keys(loc[:-1]), show=not SECRET_KEY.search(key))
    if not table:
        table, key = key, ""
    return Problem(str(path), lines.key_line(table, 0, key), ".".join(loc), message)


def _known_keys(table: list[str]) -> list[str]:
    models: dict[str, type[BaseModel]] = {
        "daemon": DaemonSettings,
        "voices": VoiceSettings,
        "accounts": AccountSettings,
        "feeds": FeedSettings,
        "authors": AuthorSettings,
    }
    if table and table[0] == "adapters":
        return []
    if table[:2] == ["alerts", "targets"] and len(table) == 3:
        return list(AlertTarget.model_fields)
    if table and table[0] == "alerts":
        return list(AlertSettings.model_fields)
    if table[:2] == ["charter", "rules"]:
        return list(CharterRule.model_fields)
    if table and table[0] == "charter":
        return list(CharterSettings.model_fields)
    if not table:
        return list(_ConfigFile.model_fields)
    model = models.get(table[0])
    return list(model.model_fields) if model else []

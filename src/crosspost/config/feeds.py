"""The `[feeds.NAME]` tables of crosspost.toml, and their checks against accounts and voices."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crosspost.config.problems import echo
from crosspost.timeutil import Duration, format_duration

if TYPE_CHECKING:
    from crosspost.config.problems import Problem
    from crosspost.config.settings import Config


class FeedSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str  # http(s) URL, or a local file path (relative to the config file)
    every: Duration = timedelta(minutes=10)
    accounts: list[str] = Field(min_length=1)
    voice: str = ""  # empty: each account's own voice
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    mode: Literal["now", "slots"] = "now"
    backfill: int = Field(default=0, ge=0)
    max_bytes: int = Field(default=10_000_000, ge=1000)

    @field_validator("every")
    @classmethod
    def _at_least_a_second(cls, value: timedelta) -> timedelta:
        if value.total_seconds() < 1:
            raise ValueError(
                f"every = {format_duration(value)}: poll at most every second (blogs prefer 10m)"
            )
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        for value in values:
            compile_filter(value)
        return values


def compile_filter(text: str) -> re.Pattern[str]:
    """ "/regex/" is a regular expression; anything else a case-insensitive keyword."""
    if len(text) > 2 and text.startswith("/") and text.endswith("/"):
        try:
            return re.compile(text[1:-1], re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {echo(text, 60)}: {exc}") from exc
    return re.compile(re.escape(text), re.IGNORECASE)


def feed_problems(config: Config) -> list[Problem]:
    """Each feed's accounts exist (and have slots for mode = "slots"); its voice exists."""
    problems = []
    for name, feed in config.feeds.items():
        table = f"feeds.{name}"
        for account in feed.accounts:
            if account not in config.accounts:
                problems.append(
                    config.problem(
                        table,
                        0,
                        "accounts",
                        f"unknown account {account!r}; use one of: "
                        f"{', '.join(sorted(config.accounts))}",
                    )
                )
            elif feed.mode == "slots" and not config.accounts[account].slots:
                problems.append(
                    config.problem(
                        table,
                        0,
                        "mode",
                        f'mode = "slots" but account {account!r} has no slots; add e.g. '
                        f'slots = ["mon-fri 09:00"] to [accounts.{account}]',
                    )
                )
        if feed.voice and feed.voice not in config.voices:
            problems.append(config.problem(table, 0, "voice", f"unknown voice {feed.voice!r}"))
    return problems

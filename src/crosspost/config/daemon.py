"""The `[daemon]` table of crosspost.toml: where the daemon keeps its state, how it logs,
retries and shares work, and where it serves metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from crosspost.config.alerts import metrics_address
from crosspost.timeutil import Duration


class DaemonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    state_dir: str = "var"
    database: str = ""
    calendars: list[str] = Field(default_factory=lambda: ["calendar.toml", "calendar.d/*.toml"])
    media_dirs: list[str] = Field(default_factory=list)  # images may come from here too
    catch_up: Duration = timedelta(hours=2)
    log_format: Literal["logfmt", "json", "console"] = "logfmt"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    secrets: str = ""
    max_attempts: int = Field(default=8, ge=1)
    lanes: int = Field(default=64, ge=1, le=1024)  # accounts publishing at once
    give_up_after: Duration = timedelta(hours=24)
    retry_backoff: Duration = timedelta(seconds=30)  # the first wait; doubles each time
    lease: Duration = timedelta(minutes=15)  # a claim older than this lost its daemon
    approval: Literal["none", "required"] = "none"  # required: posts go out once approved
    approvers: list[str] = Field(default_factory=list)  # who may approve
    metrics: str = ""  # "127.0.0.1:9464": serve Prometheus metrics there; empty: none
    # when each sent post's numbers are collected, after it went out; [] collects none
    measure_after: list[Duration] = Field(
        default_factory=lambda: (
            [timedelta(hours=1), timedelta(days=1)]
            + [timedelta(days=7 * week) for week in range(1, 5)]
        ),
        max_length=20,
    )

    @field_validator("measure_after")
    @classmethod
    def _in_order(cls, value: list[timedelta]) -> list[timedelta]:
        if value != sorted(value) or len(set(value)) != len(value):
            raise ValueError('give increasing durations, e.g. ["1h", "1d", "7d"]')
        if any(after <= timedelta(0) for after in value):
            raise ValueError("each duration must be positive")
        return value

    @field_validator("metrics")
    @classmethod
    def _address(cls, value: str) -> str:
        if value:
            metrics_address(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown timezone; use an IANA name like 'Europe/Paris'") from exc
        return value

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crosspost.timeutil import format_duration, parse_duration, resolve_wall_time

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("2h", 7200), ("1d12h", 129600), ("1H 30M", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "2 hours", "h", "10x", "-5m"])
def test_bad_durations_say_how_to_write_them(text: str) -> None:
    with pytest.raises(ValueError, match="'90s', '15m', '2h'"):
        parse_duration(text)


def test_ordinary_wall_time() -> None:
    assert resolve_wall_time(datetime(2026, 6, 1, 9, 0), PARIS) == datetime(
        2026, 6, 1, 7, 0, tzinfo=UTC
    )


def test_nonexistent_time_moves_to_first_valid_instant() -> None:
    # 2026-03-29: clocks jump from 02:00 to 03:00 in Paris; 02:30 does not exist.
    resolved = resolve_wall_time(datetime(2026, 3, 29, 2, 30), PARIS)
    assert resolved == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert resolved.astimezone(PARIS).strftime("%H:%M") == "03:00"


def test_ambiguous_time_takes_first_occurrence() -> None:
    # 2026-10-25: 02:30 happens twice in Paris (CEST then CET); the first is 00:30 UTC.
    assert resolve_wall_time(datetime(2026, 10, 25, 2, 30), PARIS) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


def test_half_hour_gap_zone() -> None:
    # Lord Howe Island moves 30 minutes: 02:00 -> 02:30 on 2026-10-04.
    zone = ZoneInfo("Australia/Lord_Howe")
    resolved = resolve_wall_time(datetime(2026, 10, 4, 2, 10), zone)
    assert resolved.astimezone(zone).strftime("%H:%M") == "02:30"


@pytest.mark.parametrize(
    ("seconds", "text"), [(7200, "2h"), (90, "1m30s"), (129600, "1d12h"), (0, "0s"), (5, "5s")]
)
def test_durations_print_as_people_write_them(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_config_durations_are_parsed_once_into_timedeltas(tmp_path) -> None:
    from crosspost.config.settings import load_config

    path = tmp_path / "crosspost.toml"
    path.write_text(
        '[daemon]\ncatch_up = "90m"\nlease = "1d"\n'
        '[feeds.blog]\nurl = "https://blog.example/feed"\nevery = "5m"\naccounts = ["box"]\n'
        '[accounts.box]\nnetwork = "outbox"\n'
    )
    config = load_config(path)
    assert config.daemon.catch_up == timedelta(minutes=90) == config.catch_up
    assert config.daemon.lease == timedelta(days=1)
    assert config.daemon.retry_backoff == timedelta(seconds=30)  # the default, typed too
    assert config.feeds["blog"].every == timedelta(minutes=5)


def test_the_environment_is_read_once_when_the_config_loads(tmp_path, monkeypatch) -> None:
    from crosspost.config.settings import load_config

    path = tmp_path / "crosspost.toml"
    path.write_text('[accounts.box]\nnetwork = "outbox"\n')
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd-state"))
    config = load_config(path)
    monkeypatch.delenv("STATE_DIRECTORY")  # later changes do not move the loaded config
    assert config.state_dir == tmp_path / "systemd-state"
    assert load_config(path).state_dir == tmp_path / "var"

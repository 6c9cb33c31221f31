"""The command line as a person uses it: exit codes, tables, file:line reports."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost import logs, store
from crosspost.cli.main import main
from crosspost.config.settings import load_config

TESTS = Path(__file__).resolve().parents[1]


def future(days: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def calendar(text: str = "Hello", when: str | None = None, extra: str = "") -> str:
    return (
        f'[[post]]\nid = "p1"\nat = {when or future()}\naccounts = ["box"]\n'
        f'text = "{text}"\n{extra}'
    )


def run_once(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "-c", str(path), "run", "--once"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_check_passes_on_good_files(make_site, capsys) -> None:
    assert main(["-c", str(make_site(calendar())), "check"]) == 0
    assert "1 posts, 2 accounts, 0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_check_fails_with_file_line_for_a_post_that_does_not_fit(make_site, capsys) -> None:
    path = make_site(calendar("word " * 20), limit=30, overflow="reject")
    assert main(["-c", str(path), "check"]) == 1
    out = capsys.readouterr().out
    assert f"{path.parent / 'calendar.toml'}:2: [post.text]" in out
    assert "for account 'box': text is 99 for a limit of 30 chars" in out


def test_check_reports_a_bad_override_at_its_own_key(make_site, capsys) -> None:
    path = make_site(
        calendar(extra='[post.override.box]\ntext = "' + "x " * 40 + '"\n'),
        limit=30,
        overflow="reject",
    )
    assert main(["-c", str(path), "check"]) == 1
    assert "[post.override.box]" in capsys.readouterr().out


def test_check_online_verifies_each_account(make_site, net, capsys) -> None:
    net.script = [(401, {}, {}, 0)]
    path = make_site(calendar(), net_url=net.url)
    assert main(["-c", str(path), "check", "--online"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: AuthError" in out and "ok: " in out
    assert net.requests[0]["path"] == "/me"


def test_config_error_exit_code(make_site, capsys) -> None:
    path = make_site(calendar())
    path.write_text(path.read_text().replace("[daemon]", "[deamon]"))
    assert main(["-c", str(path), "check"]) == 78
    assert "unknown key 'deamon'; did you mean 'daemon'?" in capsys.readouterr().err


def test_preview_shows_each_part_with_its_count(make_site, capsys) -> None:
    path = make_site(calendar("word " * 30), limit=60, overflow="thread")
    assert main(["-c", str(path), "preview", "p1", "--account", "box"]) == 0
    out = capsys.readouterr().out
    assert "── p1 → box (60 chars)" in out
    assert " 1/3\n" in out and " 3/3\n" in out and "(58 / 60)" in out  # numbered once
    assert "[1/3]" not in out


def test_upcoming_lists_in_local_time(make_site, capsys) -> None:
    path = make_site(calendar(when="2030-01-07T09:00:00"), timezone="Europe/Paris")
    assert main(["-c", str(path), "upcoming", "--days", "5000"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["when", "post", "accounts", "by", "text"]
    assert out[2].split()[:5] == ["Mon", "2030-01-07", "09:00", "p1", "box"]


def test_run_once_then_history_retry_and_resolve(make_site, net, capsys) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    net.script = [(400, {}, {"detail": "invalid media"}, 0)]
    path = make_site(calendar(when=now).replace('["box"]', '["box", "net"]'), net_url=net.url)
    result = run_once(path)
    assert result.returncode == 1  # one delivery failed: cron mails the output
    assert "delivery failed" in result.stdout and "invalid media" in result.stdout
    assert main(["-c", str(path), "history", "--status", "failed"]) == 0
    out = capsys.readouterr().out
    assert "p1" in out and "net" in out and "invalid media" in out and "box" not in out
    engine = store.open_engine(load_config(path).database_url)
    failed = store.deliveries(engine, store.columns.status == "failed")[0]
    assert main(["-c", str(path), "retry", str(failed.id)]) == 0
    assert run_once(path).returncode == 0
    [row] = store.deliveries(engine, store.columns.id == failed.id)
    assert row.status == "sent" and row.attempts == 1
    assert main(["-c", str(path), "resolve", str(row.id), "--sent", "https://x"]) == 1
    store.set_status(engine, store.columns.id == row.id, datetime.now(UTC), status="in_doubt")
    assert main(["-c", str(path), "resolve", str(row.id), "--sent", "https://t/1"]) == 0
    [row] = store.deliveries(engine, store.columns.id == failed.id)
    assert row.status == "sent" and row.remote_url == "https://t/1"


def test_every_command_has_help_with_an_example(capsys) -> None:
    for command in ("run", "check", "preview", "upcoming", "history", "retry", "resolve"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "example:\n  crosspost " in capsys.readouterr().out


def test_stdlib_loggers_are_redacted_too(capsys) -> None:
    logs.REDACTOR.update(["abcd-secret-1234"])
    logs.configure("logfmt", "debug")
    logging.getLogger("tweepy.client").debug("Authorization: Bearer AAAAtoken and abcd-secret-1234")
    logs.get().info("calling", access_token="zzzz", url="https://h/?q=abcd-secret-1234")
    out = capsys.readouterr().out
    assert "AAAAtoken" not in out and "abcd-secret-1234" not in out and "zzzz" not in out
    assert out.count("[redacted]") == 4


def test_the_example_files_pass_check(tmp_path: Path, capsys) -> None:
    root = TESTS.parent
    (tmp_path / "crosspost.toml").write_text((root / "config.example.toml").read_text())
    (tmp_path / "calendar.toml").write_text((root / "calendar.example.toml").read_text())
    assert main(["-c", str(tmp_path / "crosspost.toml"), "check"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_parallel_check_finds_the_same_problems(make_site, capsys, monkeypatch) -> None:
    from crosspost.cli import reports

    posts = "".join(
        calendar("word " * (5 if i % 2 else 20)).replace('"p1"', f'"p{i}"') for i in range(6)
    )
    path = make_site(posts, limit=30, overflow="reject")
    assert main(["-c", str(path), "check"]) == 1
    sequential = sorted(capsys.readouterr().out.splitlines())
    monkeypatch.setattr(reports, "PARALLEL_FROM", 2)
    assert main(["-c", str(path), "check"]) == 1
    assert sorted(capsys.readouterr().out.splitlines()) == sequential
    assert sum("text is 99" in line for line in sequential) == 3


def test_accounts_sharing_a_voice_that_names_them_get_their_own_text(make_site, capsys) -> None:
    extra = (
        '\n[voices.named]\ntemplate = "{{ text }} on {{ account }}"\n'
        '\n[accounts.box2]\nnetwork = "outbox"\nvoice = "named"\n'
        '\n[accounts.box3]\nnetwork = "outbox"\nvoice = "named"\n'
    )
    path = make_site(calendar().replace('["box"]', '["box2", "box3"]'), extra=extra)
    assert main(["-c", str(path), "preview", "p1"]) == 0
    out = capsys.readouterr().out
    assert "Hello on box2" in out and "Hello on box3" in out


def test_tables_fit_the_width_and_cut_with_an_ellipsis() -> None:
    from crosspost.cli.terminal import table

    out = table(["id", "reason"], [(1, "x" * 100), (22, "short")], width=30).splitlines()
    assert all(len(line) <= 30 for line in out)
    assert out[2].endswith("…") and out[3].split() == ["22", "short"]

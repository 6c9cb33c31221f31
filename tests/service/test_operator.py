"""An operator's day: journald priorities, lines that say what to do, logs without repeats,
tokens watched daily, pre-commit checks of what is staged, a service install without tests."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from crosspost import logs
from crosspost.service.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
CROSSPOST = str(Path(sys.executable).parent / "crosspost")


def _post(post_id: str, when: str, accounts: str = '"box"', text: str = "Hi") -> str:
    return f'[[post]]\nid = "{post_id}"\nat = {when}\naccounts = [{accounts}]\ntext = "{text}"\n'


def test_under_journald_every_line_carries_its_priority(make_site, net, tmp_path) -> None:
    net.default = (400, {}, {"error": "refused"}, 0)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = make_site(
        _post("p", now, '"box", "net"') + _post("old", "2026-01-01T09:00:00Z"), net_url=net.url
    )
    out = tmp_path / "journal"
    with out.open("w") as stream:
        info = os.fstat(stream.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"}
        subprocess.run(
            [sys.executable, "-m", "crosspost", "-c", str(path), "run", "--once"],
            stdout=stream,
            stderr=subprocess.STDOUT,
            env=env,
            timeout=60,
        )
    lines = out.read_text().splitlines()
    assert lines and all(line[:3] in ("<6>", "<4>", "<3>") for line in lines), lines
    assert any(line.startswith("<3>") and "delivery failed" in line for line in lines)
    assert any(line.startswith("<4>") and "delivery missed" in line for line in lines)
    assert any(line.startswith("<6>") and "delivery sent" in line for line in lines)


def test_without_journald_there_is_no_prefix(make_site, tmp_path) -> None:
    stream = io.StringIO()
    logs.configure("logfmt", "info", stream)
    logs.get().warning("plain")
    assert stream.getvalue().startswith("timestamp=")


def _capture() -> io.StringIO:
    stream = io.StringIO()
    logs.configure("logfmt", "info", stream)
    return stream


def test_failure_lines_name_the_delivery_and_the_command_that_helps(make_site, net, clock) -> None:
    net.script = [(400, {}, {"error": "invalid media"}, 0), (401, {}, {"error": "expired"}, 0)]
    calendar = _post("p", "2026-03-02T09:00:00Z", '"net"') + _post(
        "q", "2026-03-02T09:00:00Z", '"net"'
    )
    stream = _capture()
    runtime = Runtime(make_site(calendar, net_url=net.url), clock)
    clock.set(clock().replace(hour=9))
    runtime.tick(threading.Event())
    out = stream.getvalue()
    assert 'event="delivery failed"' in out and "delivery=1" in out
    assert 'fix="fix the cause, then: crosspost retry 1"' in out
    assert "crosspost auth net" in out and "crosspost retry 2" in out


def test_missed_is_logged_once_and_a_reload_repeats_no_old_problem(
    make_site, clock, tmp_path
) -> None:
    bad = '[[post]]\nid = "bad"\naccounts = ["nobody"]\nat = 2026-03-02T09:00:00Z\ntext = "x"\n'
    stream = _capture()
    path = make_site(_post("old", "2026-01-01T09:00:00Z") + bad)
    runtime = Runtime(path, clock)
    runtime.reload()
    Runtime(path, clock).reload()  # a restart, then a reload
    out = stream.getvalue()
    assert out.count('event="delivery missed"') == 1 and "crosspost retry 1" in out
    assert out.count("unknown account 'nobody'") == 2  # once per process, not per reload
    (tmp_path / "calendar.toml").write_text(
        _post("old", "2026-01-01T09:00:00Z") + bad.replace("nobody", "someone")
    )
    runtime.reload()
    assert "unknown account 'someone'" in stream.getvalue()


def test_the_daemon_checks_token_expiry_daily(make_site, clock, tmp_path) -> None:
    from crosspost.service.daemon import TOKEN_CHECK_EVERY, Daemon

    expires = (clock() + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "secrets.toml").write_text(
        f'[accounts.net]\ntoken = "s3cr3t-token-value"\ntoken_expires_at = {expires}\n'
    )
    stream = _capture()
    runtime = Runtime(make_site(""), clock)
    (tmp_path / "secrets.toml").write_text(
        f'[accounts.net]\ntoken = "s3cr3t-token-value"\ntoken_expires_at = {expires}\n'
    )
    assert runtime.check_tokens() == 0
    clock.advance(timedelta(days=4))
    assert runtime.check_tokens() == 1
    assert (
        'event="token expires"' in stream.getvalue() and "crosspost auth net" in stream.getvalue()
    )
    clock.advance(timedelta(days=7))
    runtime.check_tokens()
    assert 'level=error event="token expired"' in stream.getvalue()
    daemon = Daemon(runtime)
    daemon.schedule_housekeeping()
    jobs = {job.id: job for job in daemon.timer.get_jobs()}
    assert set(jobs) == {"tokens", "housekeeping"}  # on the one scheduler, with the minute's
    job = jobs["tokens"]
    assert job.trigger.interval == TOKEN_CHECK_EVERY == timedelta(days=1)
    assert jobs["housekeeping"].trigger.interval == timedelta(minutes=1)


def test_the_pre_commit_hook_definition(tmp_path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "crosspost-check" and hook["entry"] == "crosspost"
    assert hook["args"] == ["check"] and hook["pass_filenames"] is False
    assert "\\.toml$" in hook["files"] or hook["files"] == r"\.toml$"


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _hook(repo: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CROSSPOST": CROSSPOST}
    return subprocess.run(
        [str(ROOT / "contrib" / "pre-commit-hook")],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


GOOD = _post("p", "2030-01-07T09:00:00")
BAD = _post("p", "2030-01-07T09:00:00", accounts='"nobody"')


def test_the_git_hook_checks_what_is_staged(make_site, tmp_path) -> None:
    path = make_site(GOOD)
    repo = path.parent
    (repo / "secrets.toml").unlink()  # a teammate's clone: no secrets
    _git(repo, "init", "-q")
    _git(repo, "add", "crosspost.toml", "calendar.toml")
    assert _hook(repo).returncode == 0
    (repo / "calendar.toml").write_text(BAD)  # broken in the working tree, not staged
    assert _hook(repo).returncode == 0
    _git(repo, "add", "calendar.toml")
    (repo / "calendar.toml").write_text(GOOD)  # staged broken, fixed but not added
    result = _hook(repo)
    assert result.returncode == 1 and "unknown account 'nobody'" in result.stdout


def test_the_git_hook_in_a_repository_of_calendars_only(make_site, tmp_path) -> None:
    config = make_site("")
    repo = tmp_path / "calendars-repo"
    (repo / "calendar.d").mkdir(parents=True)
    (repo / "calendar.d" / "camille.toml").write_text(BAD)
    _git(repo, "init", "-q")
    _git(repo, "config", "crosspost.config", str(config))
    _git(repo, "config", "crosspost.calendars", "calendar.d/*.toml")
    _git(repo, "add", ".")
    result = _hook(repo)
    assert result.returncode == 1
    assert result.stdout.startswith("calendar.d/camille.toml:4: [post.accounts] error:")
    (repo / "calendar.d" / "camille.toml").write_text(GOOD)
    _git(repo, "add", ".")
    assert _hook(repo).returncode == 0


def test_make_install_installs_no_test_tools() -> None:
    make = shutil.which("make")
    assert make is not None
    dry = subprocess.run(
        [make, "-n", "-B", "install"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    installs = [line for line in dry.splitlines() if "pip install" in line]
    assert installs and not any("[test]" in line for line in installs)
    assert any("-e adapters/x/" in line for line in installs)

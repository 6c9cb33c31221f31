"""Start-up and the CLI: one clear line and the right exit code, and no database made by mistake."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crosspost import store
from crosspost.store.schema import SCHEMA_VERSION

NOW = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
POST = f'[[post]]\nid = "p"\nat = {NOW}\naccounts = ["box"]\ntext = "Hi"\n'


def crosspost(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crosspost", *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )


def with_daemon(path: Path, **keys: str) -> Path:
    """The test config with some [daemon] keys changed."""
    written = path.read_text()
    for key, value in keys.items():
        default = {"state_dir": 'state_dir = "var"', "database": 'database = ""'}[key]
        written = written.replace(default, f"{key} = {value}", 1)
    path.write_text(written)
    return path


@pytest.mark.parametrize(
    ("keys", "code", "message"),
    [
        ({"state_dir": '"state-file"'}, 78, "is a file, not a folder"),
        ({"state_dir": '"/proc/crosspost-state"'}, 78, "cannot use the state dir"),
        ({"database": '"oracle+nosuch://x/y"'}, 78, "unknown database URL"),
        ({"database": '"postgresql+psycopg://u@127.0.0.1:1/x"'}, 75, "cannot reach the database"),
        ({"state_dir": '"corrupt"'}, 78, "is not a usable SQLite database"),
    ],
)
def test_start_up_problems_are_one_line_and_the_right_exit_code(
    make_site, tmp_path, keys, code, message
) -> None:
    (tmp_path / "state-file").write_text("not a folder")
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "crosspost.db").write_bytes(b"this is not SQLite" * 100)
    path = with_daemon(make_site(POST), **keys)
    result = crosspost("-c", str(path), "run", "--once")
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    [line] = [line for line in result.stdout.splitlines() if "database unavailable" in line]
    assert message in line


def test_check_says_when_the_state_dir_cannot_be_used(make_site, tmp_path, capsys) -> None:
    from crosspost.cli.main import main

    (tmp_path / "state-file").write_text("x")
    path = with_daemon(make_site(POST), state_dir='"state-file"')
    assert main(["-c", str(path), "check"]) == 1
    assert "[daemon.state_dir] error: the state dir" in capsys.readouterr().out
    (tmp_path / "state-file").unlink()
    (tmp_path / "state-file").mkdir()
    (tmp_path / "state-file" / "crosspost.db").write_bytes(b"garbage" * 1000)
    assert main(["-c", str(path), "check"]) == 1
    assert "[daemon.database] error:" in capsys.readouterr().out


def test_read_commands_never_create_a_database(make_site, tmp_path) -> None:
    path = make_site(POST)
    for command in (["history"], ["retry", "1"], ["feeds"]):
        result = crosspost("-c", str(path), *command)
        assert result.returncode == 1 and "no database at" in result.stderr
        assert "--state-dir" in result.stderr
    assert not (tmp_path / "var").exists()
    elsewhere = tmp_path / "service-state"
    assert (
        crosspost("-c", str(path), "--state-dir", str(elsewhere), "run", "--once").returncode == 0
    )
    shown = crosspost("-c", str(path), "--state-dir", str(elsewhere), "history")
    assert shown.returncode == 0 and " p " in shown.stdout and "sent" in shown.stdout
    assert not (tmp_path / "var" / "crosspost.db").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["retry", "99999999999999999999"],
        ["retry", "0"],
        ["resolve", "-3", "--not-sent"],
        ["history", "--limit", "-1"],
        ["upcoming", "--days", "99999999"],
        ["feeds", "preview", "x", "--items", "0"],
    ],
)
def test_numbers_out_of_range_are_usage_errors(make_site, args) -> None:
    result = crosspost("-c", str(make_site(POST)), *args)
    assert result.returncode == 2 and "is not between" in result.stderr
    assert "Traceback" not in result.stderr


def test_history_into_head_exits_quietly(make_site, tmp_path) -> None:
    path = make_site("".join(POST.replace('"p"', f'"p{n}"') for n in range(300)))
    assert crosspost("-c", str(path), "run", "--once").returncode == 0
    result = subprocess.run(
        f"{sys.executable} -m crosspost -c {path} history --limit 300 | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 2
    assert result.stderr == ""


def test_a_config_that_is_not_a_regular_file_is_refused(tmp_path) -> None:
    result = crosspost("-c", "/dev/null", "check")
    assert result.returncode == 78 and "not a regular file" in result.stderr
    assert not Path("/dev/var").exists()


def test_a_version_1_database_is_migrated(tmp_path) -> None:
    db = tmp_path / "old.db"
    old = sqlite3.connect(db)  # as crosspost 0.1 left it: no parts column, no version
    old.execute(
        "CREATE TABLE delivery (id INTEGER PRIMARY KEY, key VARCHAR(400) UNIQUE NOT NULL, "
        "source VARCHAR, post_id VARCHAR(200), occurrence VARCHAR(64), account VARCHAR(100), "
        "due_at DATETIME, status VARCHAR(16), attempts INTEGER, next_attempt_at DATETIME, "
        "claimed_by VARCHAR, claimed_at DATETIME, text VARCHAR, remote_id VARCHAR, "
        "remote_url VARCHAR, reason VARCHAR, payload VARCHAR, updated_at DATETIME)"
    )
    old.commit()
    old.close()
    engine = store.open_engine(f"sqlite:///{db}")
    assert store.get_meta(engine, "schema_version") == str(SCHEMA_VERSION)
    with engine.connect() as conn:
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(delivery)"))]
    assert "parts" in columns
    store.open_engine(f"sqlite:///{db}")  # and again: nothing to do


@pytest.mark.postgres
def test_many_daemons_starting_on_an_empty_postgresql_all_create_it_once(pg_url) -> None:
    code = "import sys; from crosspost import store; store.open_engine(sys.argv[1]); print('ok')"
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", code, pg_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(12)
    ]
    results = [(p.wait(60), p.stderr.read().decode()) for p in starts]  # type: ignore[union-attr]
    assert [code for code, _ in results] == [0] * 12, results
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        version = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'"))
        assert version.scalar() == str(SCHEMA_VERSION)
    engine.dispose()


def test_nothing_is_written_where_the_config_does_not_say(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = crosspost("history")
    assert result.returncode == 78 and "crosspost.toml" in result.stderr
    assert list(tmp_path.iterdir()) == []

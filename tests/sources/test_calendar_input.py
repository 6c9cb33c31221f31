"""One bad calendar entry never stops a good one: each mistake at its file, line and key."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost import store
from crosspost.cli.main import main
from crosspost.service.assembly import load_setup
from crosspost.service.runtime import Runtime


def entry(post_id: str, extra: str = 'at = 2030-03-02T09:00:00\ntext = "Hello"') -> str:
    return f'\n[[post]]\nid = "{post_id}"\naccounts = ["box"]\n{extra}\n'


def loaded(make_site, calendar: str | bytes) -> tuple[list[str], list[str]]:
    path = make_site("")
    target = path.parent / "calendar.toml"
    target.write_bytes(calendar) if isinstance(calendar, bytes) else target.write_text(calendar)
    setup = load_setup(path)
    return sorted(setup.calendar.posts), [str(p) for p in setup.problems]


def test_single_brackets_cost_only_that_entry(make_site) -> None:
    calendar = entry("before") + entry("single").replace("[[post]]", "[post]") + entry("after")
    posts, [problem] = loaded(make_site, calendar)
    assert posts == ["after", "before"]
    assert "calendar.toml:8: [post] error: write [[post]] with two brackets" in problem


def test_a_stray_top_level_key_is_reported_and_the_posts_run(make_site) -> None:
    posts, [problem] = loaded(make_site, 'posts = "oops"\n' + entry("a") + entry("b"))
    assert posts == ["a", "b"]
    assert "calendar.toml:1: [posts] error: unknown key 'posts'; did you mean [[post]]?" in problem


def test_a_byte_that_is_not_utf8_costs_only_its_entry(make_site) -> None:
    bad = entry("bad", 'at = 2030-03-02T09:00:00\ntext = "caf\xe9"').encode("latin-1")
    posts, [problem] = loaded(make_site, entry("a").encode() + bad + entry("b").encode())
    assert posts == ["a", "b"]
    assert "calendar.toml:12: error: byte 0xE9 at column 12 is not UTF-8" in problem


def test_a_byte_order_mark_is_accepted(make_site) -> None:
    posts, problems = loaded(make_site, b"\xef\xbb\xbf" + entry("a").encode())
    assert posts == ["a"] and problems == []


def test_an_unclosed_triple_quote_is_reported_where_it_opens(make_site) -> None:
    opened = entry("open", 'at = 2030-03-02T09:00:00\ntext = """never closed\nmore')
    posts, [problem] = loaded(make_site, entry("a") + opened + entry("b"))
    assert posts == ["a", "b"]
    assert "calendar.toml:12: [post.text] error:" in problem and "never closed" in problem


def test_deep_nesting_is_a_toml_error(make_site) -> None:
    deep = entry("deep", "at = 2030-03-02T09:00:00\ntext = 'x'\nx = " + "[" * 5000 + "]" * 5000)
    posts, [problem] = loaded(make_site, entry("a") + deep)
    assert posts == ["a"] and "nested too deeply" in problem


def test_a_symlink_loop_is_named(make_site, tmp_path: Path) -> None:
    path = make_site(entry("a"))
    (tmp_path / "calendar.d" / "loop.toml").symlink_to(tmp_path / "calendar.d" / "loop.toml")
    setup = load_setup(path)
    assert list(setup.calendar.posts) == ["a"]
    assert "loop.toml:0: error: cannot read file: symlink loop" in str(setup.problems[0])


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        ('cron = "0 9 30 2 *"\ntext = "x"', "post.cron", "never fires"),
        ('cron = "0 25 * * *"\ntext = "x"', "post.cron", "hour 25 is out of range 0-23"),
        ('cron = "0 9 * * mun"\ntext = "x"', "post.cron", "weekday 'mun' is not one of"),
        ("at = 0001-01-01T00:00:00+01:00\ntext = 'x'", "post.at", "outside the dates"),
        ("at = 9999-12-31T23:30:00-05:00\ntext = 'x'", "post.at", "outside the dates"),
        ("at = 2026-12-32T09:00:00\ntext = 'x'", "post.at", "invalid date or time 2026-12-32"),
        ("text = 'x'\nat = 2030-03-02T09:00:00\ntxt = 'x'", "post.txt", "did you mean 'text'?"),
    ],
)
def test_messages_name_the_real_problem(make_site, extra: str, key: str, message: str) -> None:
    posts, [problem] = loaded(make_site, entry("good") + entry("bad", extra))
    assert posts == ["good"]
    written = extra.splitlines()
    line = 11 + next(n for n, text in enumerate(written) if text.startswith(key.split(".")[1]))
    assert f"calendar.toml:{line}: [{key}] error:" in problem and message in problem


def test_warnings_for_dates_that_will_never_come(make_site, tmp_path: Path) -> None:
    path = make_site(entry("series", 'cron = "0 9 * * *"\nuntil = 2020-01-01\ntext = "x"'))
    path.write_text(path.read_text().replace('"calendar.d/*.toml"', '"calender.d/*.toml"'))
    problems = [str(p) for p in load_setup(path).problems]
    assert any("[post.until] warning: until 2020-01-01 is in the past" in p for p in problems)
    assert any("there is no folder" in p and "calender.d" in p for p in problems)


def test_check_warns_about_a_past_date_that_was_never_published(make_site, capsys, clock) -> None:
    year_ago = (datetime.now(UTC) - timedelta(days=360)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = make_site(entry("typo", f'at = {year_ago}\ntext = "x"'))
    assert main(["-c", str(path), "check"]) == 0  # no database yet: 360 days is not far
    assert "never published" not in capsys.readouterr().out
    Runtime(path)  # the daemon has run: it saw the post too late, recorded it as missed
    assert main(["-c", str(path), "check"]) == 0
    out = capsys.readouterr().out
    assert "calendar.toml:3: [post.at] warning: at is 360 day(s) in the past" in out
    assert "never published" in out


def test_a_reload_with_one_bad_new_entry_applies_the_rest(make_site, clock, tmp_path) -> None:
    path = make_site(entry("old"))
    runtime = Runtime(path, clock)
    due = clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "calendar.toml").write_text(
        entry("old")
        + entry("never", 'cron = "0 9 30 2 *"\ntext = "x"')
        + entry("new", f'at = {due}\ntext = "Due now"')
    )
    assert runtime.reload()
    runtime.tick(threading.Event())
    assert [(r.post_id, r.status) for r in store.deliveries(runtime.engine)] == [("new", "sent")]


def test_a_duplicate_id_keeps_running_where_it_was_first_seen(make_site, tmp_path) -> None:
    path = make_site(entry("a"))
    later = tmp_path / "calendar.d" / "b.toml"
    later.write_text(entry("shared", 'at = 2030-03-02T09:00:00\ntext = "from b"'))
    first = load_setup(path)
    assert first.calendar.posts["shared"].text == "from b"
    earlier = tmp_path / "calendar.d" / "a.toml"  # sorts first, arrives second
    earlier.write_text(entry("shared", 'at = 2030-03-02T10:00:00\ntext = "from a"'))
    second = load_setup(path, previous=first)
    assert second.calendar.posts["shared"].text == "from b"
    [problem] = [str(p) for p in second.problems]
    assert problem.startswith(f"{earlier}:3: [post.id] error: duplicate id 'shared': {later}:3")
    assert "keeps running" in problem

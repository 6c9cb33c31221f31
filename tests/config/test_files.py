"""Bad input in the files people edit: every problem names file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from crosspost.config.problems import ConfigError
from crosspost.config.settings import load_config
from crosspost.service.assembly import load_setup
from crosspost.sources.calendar_load import load_calendar

GOOD = """
[[post]]
id = "good"
at = 2026-03-02T09:00:00
accounts = ["box"]
text = "A good post"
"""


def problems_of(config_path: Path) -> list[str]:
    return [str(p) for p in load_setup(config_path).problems]


def test_malformed_toml_names_the_line(make_site, tmp_path: Path) -> None:
    path = make_site(GOOD + '\n[[post]]\nid = "broken\n')
    [problem] = problems_of(path)
    assert problem.startswith(f"{tmp_path / 'calendar.toml'}:9:")
    assert "invalid TOML" in problem


def test_unknown_key_suggests_the_right_one(make_site) -> None:
    path = make_site(GOOD.replace('text = "A good post"', 'txt = "oops"\ntext = "x"'))
    [problem] = problems_of(path)
    assert ":6: [post.txt]" in problem and "unknown key 'txt'" in problem


def test_bad_entry_does_not_stop_the_good_ones(make_site) -> None:
    bad = '\n[[post]]\nid = "bad"\nat = 2026-03-02T10:00:00\naccounts = ["nobody"]\ntext = "x"\n'
    setup = load_setup(make_site(GOOD + bad))
    assert list(setup.calendar.posts) == ["good"]
    [problem] = [str(p) for p in setup.problems]
    assert ":11: [post.accounts]" in problem and "unknown account 'nobody'" in problem
    assert "[accounts.nobody]" in problem


@pytest.mark.parametrize(
    ("entry", "line", "key", "message"),
    [
        ('at = "next tuesday"', 4, "post.at", "Input should be a valid datetime"),
        ('cron = "0 9 * *"', 4, "post.cron", "write exactly 5"),
        ('cron = "0 25 * * *"', 4, "post.cron", "hour 25 is out of range 0-23"),
        ('at = 2026-03-02T09:00:00\ncron = "0 9 * * *"', 4, "post.at", "exactly one of `at`"),
        (
            'at = 2026-03-02T09:00:00\nimages = [{path = "nope.png", alt = "x"}]',
            5,
            "post.images",
            "image not found",
        ),
        (
            'at = 2026-03-02T09:00:00\nlink = "example.com"',
            5,
            "post.link",
            "must be one http:// or https:// address",
        ),
    ],
)
def test_entry_errors(make_site, entry: str, line: int, key: str, message: str) -> None:
    calendar = f'[[post]]\nid = "p"\naccounts = ["box"]\n{entry}\ntext = "t"\n'
    [problem] = problems_of(make_site(calendar))
    assert f"calendar.toml:{line}: [{key}]" in problem
    assert message in problem


def test_duplicate_ids_across_files(make_site, tmp_path: Path) -> None:
    path = make_site(GOOD)
    (tmp_path / "calendar.d").mkdir(exist_ok=True)
    (tmp_path / "calendar.d" / "marie.toml").write_text(GOOD)
    setup = load_setup(path)
    [problem] = [str(p) for p in setup.problems]
    assert "marie.toml:3: [post.id] error: duplicate id 'good'" in problem
    assert "calendar.toml:3" in problem


def test_last_good_version_of_an_entry_is_kept(make_site, tmp_path: Path) -> None:
    path = make_site(GOOD)
    config = load_config(path)
    first = load_calendar(config)
    (tmp_path / "calendar.toml").write_text(GOOD.replace("2026-03-02T09:00:00", '"tomorrow"'))
    second = load_calendar(config, first)
    assert second.posts["good"] == first.posts["good"]
    assert any("keeping the last good version of 'good'" in str(p) for p in second.problems)
    (tmp_path / "calendar.toml").write_text("title = \n" + GOOD)  # a broken line above it
    third = load_calendar(config, second)
    assert third.posts["good"].line == first.posts["good"].line + 1  # read again, not kept
    assert [p.line for p in third.problems] == [1]
    (tmp_path / "calendar.toml").unlink()
    (tmp_path / "calendar.toml").symlink_to(tmp_path / "calendar.toml")  # unreadable whole
    fourth = load_calendar(config, third)
    assert fourth.posts["good"] == third.posts["good"]
    assert "cannot read file: symlink loop" in str(fourth.problems[0])
    assert any("keeping the last good version of this file" in str(p) for p in fourth.problems)


def test_config_unknown_key_and_exit_code(make_site, tmp_path: Path) -> None:
    path = make_site(GOOD, extra='\n[voices.loud]\ntemplate = "{{ text }}"\noverflw = "reject"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    [problem] = [str(p) for p in info.value.problems]
    assert "crosspost.toml:" in problem and "[voices.loud.overflw]" in problem
    assert "did you mean 'overflow'" in problem
    line = int(problem.split(":")[1])
    assert path.read_text().splitlines()[line - 1].startswith("overflw")


def test_template_with_unknown_name_is_a_config_error(make_site) -> None:
    path = make_site(GOOD, extra='\n[voices.loud]\ntemplate = "{{ txet }}"\n')
    with pytest.raises(ConfigError) as info:
        load_setup(path)
    [problem] = [str(p) for p in info.value.problems]
    assert "[voices.loud.template]" in problem and "'txet' is undefined" in problem


def test_unknown_voice_and_missing_adapter(make_site) -> None:
    path = make_site(GOOD, extra='\n[accounts.m]\nnetwork = "mastodonx"\nvoice = "nope"\n')
    with pytest.raises(ConfigError) as info:
        load_setup(path)
    text = "\n".join(str(p) for p in info.value.problems)
    assert "unknown voice 'nope'" in text


def test_missing_adapter_says_what_to_install(make_site) -> None:
    path = make_site(GOOD, extra='\n[accounts.m]\nnetwork = "mastodonx"\n')
    with pytest.raises(ConfigError) as info:
        load_setup(path)
    [problem] = [str(p) for p in info.value.problems]
    assert "[accounts.m.network]" in problem and "pip install crosspost-mastodonx" in problem


def test_bad_timezone(make_site) -> None:
    with pytest.raises(ConfigError, match=r"unknown timezone.*got 'Mars/Olympus'"):
        load_config(make_site(GOOD, timezone="Mars/Olympus"))


def test_post_text_is_data_not_a_template(make_site) -> None:
    from crosspost.render.compose import render_for

    setup = load_setup(make_site(GOOD.replace("A good post", "{{ 7 * 7 }} {% raw %}")))
    _, outgoing = render_for(setup, setup.calendar.posts["good"], "box")
    assert outgoing.parts == ("{{ 7 * 7 }} {% raw %}",)


def test_a_syntax_error_costs_only_its_own_entry(make_site, tmp_path: Path) -> None:
    broken = '\n[[post]]\nid = "broken"\naccounts = ["box"]\ntext = "unclosed\n'
    setup = load_setup(make_site(GOOD + broken + GOOD.replace('"good"', '"after"')))
    assert sorted(setup.calendar.posts) == ["after", "good"]
    [problem] = [str(p) for p in setup.problems]
    assert "calendar.toml:11:" in problem and "invalid TOML" in problem
    assert setup.calendar.posts["after"].line == 14


def test_a_multiline_string_that_looks_like_a_header_is_not_cut(make_site) -> None:
    tricky = GOOD.replace('text = "A good post"', 'text = """Write\n[[post]]\nlike this"""')
    setup = load_setup(make_site(tricky + GOOD.replace('"good"', '"second"')))
    assert setup.problems == []
    assert setup.calendar.posts["good"].text == "Write\n[[post]]\nlike this"
    assert setup.calendar.posts["second"].line == 11


def test_reload_reuses_unchanged_entries_and_follows_moved_lines(make_site, tmp_path) -> None:
    path = make_site(GOOD + GOOD.replace('"good"', '"second"'))
    first = load_setup(path)
    (tmp_path / "calendar.toml").write_text(
        "# a comment\n# another\n"
        + GOOD.replace("A good post", "Edited")
        + GOOD.replace('"good"', '"second"')
    )
    second = load_setup(path, first)
    assert second.calendar.posts["good"].text == "Edited"
    assert second.calendar.posts["second"].line == first.calendar.posts["second"].line + 2
    # not parsed again: the very string objects of the first load are kept
    assert second.calendar.posts["second"].text is first.calendar.posts["second"].text
    assert second.calendar.posts["good"].digest != first.calendar.posts["good"].digest


def test_a_token_in_the_config_is_refused_without_echoing_it(make_site) -> None:
    path = make_site(
        GOOD, extra='\n[accounts.leaky]\nnetwork = "outbox"\naccess_token = "xyz-1234"\n'
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    [problem] = [str(p) for p in info.value.problems]
    assert "[accounts.leaky.access_token]" in problem and "move it to the secrets file" in problem
    assert "xyz-1234" not in problem


def test_adapter_keys_are_checked_by_the_adapter(make_site) -> None:
    path = make_site(GOOD, extra='\n[accounts.typo]\nnetwork = "outbox"\nlimt = 280\n')
    with pytest.raises(ConfigError) as info:
        load_setup(path)
    [problem] = [str(p) for p in info.value.problems]
    assert "[accounts.typo.limt]" in problem and "outbox: unknown key 'limt'" in problem
    line = int(problem.split(":")[1])
    assert path.read_text().splitlines()[line - 1] == "limt = 280"

"""Authors: `[authors.NAME]`, a calendar file that names the author of all its posts, the
signature in the voice, and the author in `upcoming`, `history`, the log and the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon_harness import crosspost

from crosspost.cli.main import main
from crosspost.service.runtime import Runtime

TEAM = """
[authors.camille]
name = "Camille"
role = "gérante"

[authors.sam]
name = "Sam"
signature = "Sam, from the workshop"

[voices.signed]
template = "{{ text }}\\n{{ author.signature }}"

[accounts.team]
network = "outbox"
voice = "signed"
path = "var/outbox"
"""


def entry(post_id: str, when: datetime, author: str = "") -> str:
    signed = f'author = "{author}"\n' if author else ""
    return (f'\n[[post]]\nid = "{post_id}"\nat = {when:%Y-%m-%dT%H:%M:%SZ}\n'
            f'accounts = ["team"]\ntext = "News from {post_id}"\n{signed}')  # fmt: skip


def test_each_post_is_signed_by_its_author_everywhere(make_site, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    config = make_site(entry("workshop", now - timedelta(minutes=1), "sam"), extra=TEAM)
    (tmp_path / "calendar.d" / "camille.toml").write_text(
        'author = "camille"   # every post of this file\n'
        + entry("opening", now - timedelta(minutes=2))
        + entry("later", now + timedelta(days=1))
    )
    upcoming = crosspost(config, "upcoming")
    assert upcoming.returncode == 0 and "camille" in upcoming.stdout
    run = crosspost(config, "run", "--once")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "author=Camille" in run.stdout and "author=Sam" in run.stdout
    files = {p.name: p.read_text() for p in (tmp_path / "var/outbox/team").iterdir()}
    opening = files["opening_once_team.txt"]
    assert "author: Camille" in opening and opening.endswith(
        "News from opening\n— Camille, gérante\n"
    )
    assert files["workshop_once_team.txt"].endswith("News from workshop\nSam, from the workshop\n")
    history = crosspost(config, "history")
    rows = {line.split()[3]: line.split()[5] for line in history.stdout.splitlines()[2:]}
    assert rows == {"workshop": "Sam", "opening": "Camille"}


def test_unknown_authors_are_errors_at_their_line_and_the_rest_runs(
    make_site, tmp_path: Path, capsys
) -> None:
    now = datetime.now(UTC) + timedelta(days=1)
    config = make_site(entry("typo", now, "camile"), extra=TEAM)
    mine = tmp_path / "calendar.d" / "mine.toml"
    mine.write_text('author = "nobody"\n' + entry("kept", now))
    assert main(["-c", str(config), "check"]) == 1
    out = capsys.readouterr().out
    assert ("calendar.toml:7: [post.author] error: unknown author 'camile'; define "
            "[authors.camile] in crosspost.toml or use one of: camille, sam") in out  # fmt: skip
    assert "mine.toml:1: [author] error: unknown author 'nobody'" in out
    assert "1 posts" in out  # the post of mine.toml runs, unsigned


def test_changing_a_files_author_signs_its_unchanged_posts_anew(make_site, clock, tmp_path) -> None:
    config = make_site(extra=TEAM)
    mine = tmp_path / "calendar.d" / "mine.toml"
    body = entry("one", datetime(2026, 3, 3, 9, tzinfo=UTC))
    mine.write_text('author = "camille"\n' + body)
    runtime = Runtime(config, clock)
    assert runtime.setup.calendar.posts["one"].by == "camille"
    mine.write_text('author = "sam"\n' + body)
    runtime.reload()
    assert runtime.setup.calendar.posts["one"].by == "sam"

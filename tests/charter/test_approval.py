"""Approval, on real calendar files, through the CLI and the daemon subprocess: a due post
without approval is held and listed by `pending`; `approve` writes the approval into the
entry (comments kept); the daemon then sends it; an edit voids it and `check` says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon_harness import Daemon, crosspost, wait_for

from crosspost import store
from crosspost.alerts import events
from crosspost.cli.main import main

APPROVAL = """
[authors.tom]
name = "Tom"

[accounts.shop]
network = "outbox"
path = "var/outbox"
approval = "none"
"""


def site(make_site, calendar: str) -> Path:  # type: ignore[no-untyped-def]
    config = make_site(calendar, extra=APPROVAL)
    text = config.read_text().replace(
        'secrets = "secrets.toml"\n',
        'secrets = "secrets.toml"\napproval = "required"\napprovers = ["camille"]\n',
    )
    config.write_text(text)
    return config


def entry(post_id: str, when: datetime, text: str, accounts: str = '"box"') -> str:
    return (f'\n# {post_id}: written by Tom\n[[post]]\nid = "{post_id}"\n'
            f'at = {when:%Y-%m-%dT%H:%M:%SZ}  # keep this comment\naccounts = [{accounts}]\n'
            f'text = "{text}"\nauthor = "tom"\n')  # fmt: skip


def outbox(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "var/outbox").glob("*/*.txt"))


def test_a_due_post_waits_for_its_approval_then_goes_out(make_site, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    calendar = entry("launch", now - timedelta(minutes=1), "We launch today", '"box", "shop"')
    calendar += entry("later", now + timedelta(days=2), "Next week")
    config = site(make_site, calendar)
    daemon = Daemon(config, tmp_path)
    try:
        daemon.messages("READY=1")
        wait_for(lambda: outbox(tmp_path) == ["launch_once_shop.txt"], timeout=20)  # no approval
        wait_for(lambda: "delivery held" in daemon.output(), timeout=20)
        engine = store.open_existing(f"sqlite:///{tmp_path / 'var' / 'crosspost.db'}")
        assert engine is not None
        held = store.deliveries(engine, store.columns.account == "box")[0]
        assert held.status == "held" and "awaits approval" in (held.reason or "")
        assert "crosspost approve launch --as NAME (one of: camille)" in (held.reason or "")
        [alert] = [e for e in events.deliveries(engine, held.updated_at, UTC) if e.kind == "held"]
        assert "`crosspost approve launch --as NAME`" in alert.body

        waiting = crosspost(config, "pending")
        assert waiting.returncode == 1
        lines = [line.split() for line in waiting.stdout.splitlines()[2:4]]
        assert [row[3:] for row in lines] == [["launch", "tom", "box", "held:", "due"],
                                              ["later", "tom", "box", "missing"]]  # fmt: skip
        refused = crosspost(config, "approve", "launch", "--as", "tom")
        assert refused.returncode == 1 and "'tom' may not approve" in refused.stderr
        approved = crosspost(config, "approve", "launch", "--as", "camille")
        assert approved.returncode == 0, approved.stderr
        text = (tmp_path / "calendar.toml").read_text()
        assert "# keep this comment" in text and "# launch: written by Tom" in text
        assert 'approved_by = "camille"' in text and "approved = " in text
        wait_for(lambda: "launch_once_box.txt" in outbox(tmp_path), timeout=20)  # released
        assert [row[3] for row in (line.split() for line in
                crosspost(config, "pending").stdout.splitlines()[2:3])] == ["later"]  # fmt: skip
    finally:
        assert daemon.stop()[0] == 0


def test_an_edit_voids_the_approval_and_check_says_so(make_site, tmp_path: Path, capsys) -> None:
    config = site(make_site, entry("launch", datetime.now(UTC) + timedelta(days=1), "Hello"))
    assert main(["-c", str(config), "approve", "launch", "--as", "camille"]) == 0
    capsys.readouterr()
    assert main(["-c", str(config), "check"]) == 0
    assert "approval" not in capsys.readouterr().out
    calendar = tmp_path / "calendar.toml"
    calendar.write_text(calendar.read_text().replace('"Hello"', '"Hello, edited"'))
    assert main(["-c", str(config), "check"]) == 0
    out = capsys.readouterr().out
    line = calendar.read_text().splitlines().index('id = "launch"') + 1
    assert (
        f"calendar.toml:{line}: [post.approved] warning: edited after camille approved it: "
        "it will not go out until approved again (crosspost approve launch)"
    ) in out
    calendar.write_text(calendar.read_text().replace('"camille"', '"nobody"'))
    assert main(["-c", str(config), "check"]) == 1
    assert "[post.approved_by] error: 'nobody' is not one of [daemon] approvers" in (
        capsys.readouterr().out
    )

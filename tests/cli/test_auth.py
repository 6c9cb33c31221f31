"""`crosspost auth`'s core side: the pasted answer, the secrets file, expiry warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost.cli.main import main
from crosspost.config.secrets import load_secrets
from crosspost.oauth import AuthAborted, Tokens, code_from_answer, save_tokens

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_the_code_comes_from_the_pasted_address_or_alone() -> None:
    url = "http://localhost:8910/callback?code=AQT-123&state=abc"
    assert code_from_answer(url, "abc") == "AQT-123"
    assert code_from_answer("  AQT-123 \n", "abc") == "AQT-123"
    with pytest.raises(AuthAborted, match="another authorization attempt"):
        code_from_answer("http://localhost:8910/callback?code=AQT&state=old", "abc")
    with pytest.raises(AuthAborted, match="user_cancelled_login"):
        code_from_answer(
            "http://localhost:8910/callback?error=user_cancelled_login&state=abc", "abc"
        )
    with pytest.raises(AuthAborted, match="no code="):
        code_from_answer("http://localhost:8910/callback?state=abc", "abc")
    with pytest.raises(AuthAborted, match="nothing"):
        code_from_answer("", "abc")


def test_tokens_are_saved_keeping_the_rest_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    path.write_text(
        "# tokens for crosspost\n"
        "[accounts.other]\n"
        'access_token = "keep-me"  # the shop\'s page\n\n'
        "[accounts.li]\n"
        'client_id = "cid"\n'
    )
    path.chmod(0o644)
    expires = NOW + timedelta(days=60)
    save_tokens(path, "li", Tokens({"access_token": "new-token"}, {"access_token": expires}))
    text = path.read_text()
    assert "# tokens for crosspost" in text and "# the shop's page" in text
    assert path.stat().st_mode & 0o777 == 0o600
    secrets, problems = load_secrets(path, NOW)
    assert secrets["other"] == {"access_token": "keep-me"}
    assert secrets["li"] == {"client_id": "cid", "access_token": "new-token"}  # no expiry key
    assert problems == []
    assert not list(tmp_path.glob(".secrets.toml.*"))  # no temporary file left behind


def test_a_new_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "secrets.toml"
    save_tokens(path, "x", Tokens({"refresh_token": "r1"}))
    assert load_secrets(path, NOW)[0] == {"x": {"refresh_token": "r1"}}
    assert path.stat().st_mode & 0o777 == 0o600


def test_check_warns_seven_days_before_a_token_expires(tmp_path: Path) -> None:
    path = tmp_path / "secrets.toml"
    save_tokens(
        path, "soon", Tokens({"access_token": "a"}, {"access_token": NOW + timedelta(days=6)})
    )
    save_tokens(
        path, "later", Tokens({"access_token": "b"}, {"access_token": NOW + timedelta(days=8)})
    )
    save_tokens(
        path, "gone", Tokens({"access_token": "c"}, {"access_token": NOW - timedelta(hours=1)})
    )
    path.chmod(0o600)
    _, problems = load_secrets(path, NOW)
    by_key = {p.key: p for p in problems}
    assert set(by_key) == {
        "accounts.soon.access_token_expires_at",
        "accounts.gone.access_token_expires_at",
    }
    soon = by_key["accounts.soon.access_token_expires_at"]
    assert soon.severity == "warning" and "in 6 days" in soon.message
    assert "crosspost auth soon" in soon.message
    assert path.read_text().splitlines()[soon.line - 1].startswith("access_token_expires_at")
    assert by_key["accounts.gone.access_token_expires_at"].severity == "error"


def test_check_reports_the_expiry_of_a_real_site(make_site, capsys) -> None:
    config = make_site()
    when = datetime.now(UTC) + timedelta(days=3)
    save_tokens(config.parent / "secrets.toml", "net", Tokens({}, {"token": when}))
    assert main(["--config", str(config), "check"]) == 0  # a warning does not fail check
    out = capsys.readouterr().out
    assert "secrets.toml:3: [accounts.net.token_expires_at] warning: the token of net" in out


def test_auth_explains_when_a_network_has_no_guided_flow(make_site, capsys) -> None:
    config = make_site()
    assert main(["--config", str(config), "auth", "box"]) == 1
    assert "outbox network has no guided authorization" in capsys.readouterr().err
    assert main(["--config", str(config), "auth", "nobody"]) == 1
    assert "no account 'nobody'" in capsys.readouterr().err

"""`crosspost auth` for a LinkedIn account, run as a person would: the real command, its URL,
the redirect address pasted back, LinkedIn's token endpoint on a local socket."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import tomli

from crosspost.cli.auth import run_auth
from crosspost.testing import Answer, ScriptedHTTPServer

CONFIG = """
[daemon]
state_dir = "var"
secrets = "secrets.toml"
calendars = []

[voices.corporate]
template = "{{{{ text }}}}"

[accounts.company_li]
network = "linkedin"
voice = "corporate"
author = "urn:li:organization:42"
oauth_base_url = "{url}"
api_base_url = "{url}"
"""


class FakeLinkedInOAuth(ScriptedHTTPServer):
    def default_answer(self, method: str, path: str) -> Answer:
        if path == "/oauth/v2/accessToken":
            return 200, {}, {"access_token": "AQV-new-token", "expires_in": 5184000}, 0
        return 404, {}, {"message": "not found"}, 0


@pytest.fixture
def oauth():
    fake = FakeLinkedInOAuth()
    yield fake
    fake.close()


def test_auth_walks_through_and_stores_the_token_with_its_expiry(oauth, tmp_path: Path) -> None:
    (tmp_path / "crosspost.toml").write_text(CONFIG.format(url=oauth.url))
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[accounts.company_li]\nclient_id = "cid"\nclient_secret = "csecret-1"\n')
    secrets.chmod(0o600)
    command = [sys.executable, "-m", "crosspost", "--config", str(tmp_path / "crosspost.toml")]
    process = subprocess.Popen(
        [*command, "auth", "company_li"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None and process.stdin is not None
    url = ""
    for line in process.stdout:
        if "/oauth/v2/authorization?" in line:
            url = line.strip()
            break
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["client_id"] == "cid" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://localhost:8910/callback"
    assert "w_organization_social" in query["scope"]
    pasted = f"http://localhost:8910/callback?code=the-code&state={query['state']}\n"
    out, err = process.communicate(pasted, timeout=30)
    assert process.returncode == 0, err
    assert "Saved access_token for company_li" in out
    assert "csecret-1" not in out + err and "AQV-new-token" not in out + err
    form = dict(parse_qsl(oauth.requests[0]["body"].decode()))
    assert form == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": "http://localhost:8910/callback",
        "client_id": "cid",
        "client_secret": "csecret-1",
    }
    stored = tomli.loads(secrets.read_text())["accounts"]["company_li"]
    assert stored["access_token"] == "AQV-new-token" and stored["client_id"] == "cid"
    expected = datetime.now(UTC) + timedelta(days=60)
    assert abs(stored["access_token_expires_at"] - expected) < timedelta(minutes=1)
    assert secrets.stat().st_mode & 0o777 == 0o600
    check = subprocess.run([*command, "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr  # the new token is usable


def test_a_refused_code_writes_nothing(oauth, tmp_path: Path) -> None:
    (tmp_path / "crosspost.toml").write_text(CONFIG.format(url=oauth.url))
    secrets = tmp_path / "secrets.toml"
    before = '[accounts.company_li]\nclient_id = "cid"\nclient_secret = "s"\n'
    secrets.write_text(before)
    oauth.script = [(400, {}, {"error": "invalid_request", "error_description": "bad code"}, 0)]
    code = run_auth(
        tmp_path / "crosspost.toml",
        "company_li",
        "http://localhost:8910/callback",
        None,
        ask=lambda prompt: "the-code",
    )
    assert code == 1
    assert secrets.read_text() == before

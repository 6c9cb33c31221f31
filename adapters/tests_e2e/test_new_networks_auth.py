"""`crosspost auth` for Mastodon and Threads, run as a person would: the real command, its
address, the redirect address pasted back, the network's OAuth endpoints on a local socket,
and the secrets file written so that `check` then passes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import tomli

ADAPTERS = Path(__file__).resolve().parents[1]
for network in ("mastodon", "threads"):
    sys.path.insert(0, str(ADAPTERS / network / "tests"))
from fakemastodon import TOKEN as MASTODON_TOKEN  # noqa: E402
from fakemastodon import FakeMastodon  # noqa: E402
from fakethreads import TOKEN as THREADS_TOKEN  # noqa: E402
from fakethreads import USER, FakeThreads  # noqa: E402

CONFIG = """
[daemon]
state_dir = "var"
secrets = "secrets.toml"
calendars = []

[voices.casual]
template = "{{{{ text }}}}"

[accounts.{name}]
network = "{network}"
voice = "casual"
{settings}
"""


def run_auth(tmp: Path, name: str, marker: str) -> tuple[dict[str, str], str, Path]:
    """Start `crosspost auth NAME`, read the address it prints (the line with `marker`),
    paste back the redirect with the code, and return the query, the output, the secrets."""
    command = [sys.executable, "-m", "crosspost", "--config", str(tmp / "crosspost.toml")]
    process = subprocess.Popen(
        [*command, "auth", name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    url = next((line.strip() for line in process.stdout if marker in line), "")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["redirect_uri"] == "http://localhost:8910/callback", url
    pasted = f"http://localhost:8910/callback?code=the-code&state={query['state']}\n"
    out, err = process.communicate(pasted, timeout=60)
    assert process.returncode == 0, out + err
    check = subprocess.run([*command, "check"], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr  # the new token is usable
    return query, out + err, tmp / "secrets.toml"


def write_site(tmp: Path, name: str, network: str, settings: str, secrets: str) -> None:
    (tmp / "crosspost.toml").write_text(
        CONFIG.format(name=name, network=network, settings=settings)
    )
    (tmp / "secrets.toml").write_text(secrets)
    (tmp / "secrets.toml").chmod(0o600)


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    server = FakeMastodon()
    yield server
    server.close()


@pytest.fixture
def threads() -> Iterator[FakeThreads]:
    server = FakeThreads()
    yield server
    server.close()


def _form(server: Any, path: str) -> dict[str, list[str]]:
    [request] = [r for r in server.requests if r["path"].split("?")[0] == path]
    return parse_qs(request["body"].decode() or urlsplit(request["path"]).query)


def test_mastodon_auth_registers_the_app_on_the_instance_and_stores_the_token(
    mastodon: FakeMastodon, tmp_path: Path
) -> None:
    write_site(tmp_path, "acme_mastodon", "mastodon", f'api_base_url = "{mastodon.url}"', "")
    query, out, secrets = run_auth(tmp_path, "acme_mastodon", "/oauth/authorize?")
    app = _form(mastodon, "/api/v1/apps")
    assert app["client_name"] == ["crosspost"]
    assert app["scopes"] == ["read write:statuses write:media"]
    assert (
        query["client_id"] == "app-client-id"
        and query["scope"] == "read write:statuses write:media"
    )
    assert _form(mastodon, "/oauth/token")["code"] == ["the-code"]
    stored = tomli.loads(secrets.read_text())["accounts"]["acme_mastodon"]
    assert stored == {
        "access_token": MASTODON_TOKEN,
        "client_id": "app-client-id",
        "client_secret": "app-client-SECRET-3",
    }
    assert MASTODON_TOKEN not in out and "app-client-SECRET-3" not in out
    assert secrets.stat().st_mode & 0o777 == 0o600


def test_threads_auth_exchanges_the_code_for_a_60_day_token(
    threads: FakeThreads, tmp_path: Path
) -> None:
    settings = f'api_base_url = "{threads.url}"\nthreads_user_id = "{USER}"'
    app = '[accounts.acme_threads]\nclient_id = "1234"\nclient_secret = "app-SECRET-9"\n'
    write_site(tmp_path, "acme_threads", "threads", settings, app)
    query, out, secrets = run_auth(tmp_path, "acme_threads", "threads.net/oauth/authorize?")
    assert query["client_id"] == "1234"
    assert (
        query["scope"]
        == "threads_basic,threads_content_publish,threads_manage_replies,threads_manage_insights"
    )
    assert _form(threads, "/oauth/access_token")["code"] == ["the-code"]
    assert _form(threads, "/access_token")["grant_type"] == ["th_exchange_token"]
    stored = tomli.loads(secrets.read_text())["accounts"]["acme_threads"]
    assert stored["access_token"] == THREADS_TOKEN and stored["client_secret"] == "app-SECRET-9"
    expected = datetime.now(UTC) + timedelta(seconds=5183944)
    assert abs(stored["access_token_expires_at"] - expected) < timedelta(minutes=1)
    for secret in (THREADS_TOKEN, "app-SECRET-9", "short-lived-SECRET"):
        assert secret not in out

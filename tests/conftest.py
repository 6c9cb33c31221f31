"""Shared fixtures: config files on disk, a scripted HTTP network, a controllable clock."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from daemon_harness import Daemon

from crosspost.testing import CLOSE, RESET, Answer, ScriptedHTTPServer
from crosspost.timeutil import ManualClock

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


class ScriptedServer(ScriptedHTTPServer):
    """The test network of `netadapter`: POST /posts publishes (and is kept by its delivery
    key, also when the answer is then lost), GET /posts/by-key/KEY finds one, /me says who
    we are."""

    publishing = (("POST", "/posts"),)

    def __init__(self) -> None:
        super().__init__()
        self.default: Answer = (200, {}, None, 0.0)
        self.counter = 0
        self.published: dict[str, dict[str, str]] = {}
        self.metrics: dict[str, dict[str, int]] = {}  # post id -> likes, reposts...

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        method, path = request["method"], request["path"]
        if method == "GET" and path.startswith("/metrics?ids=") and scripted is None:
            ids = path.removeprefix("/metrics?ids=").split(",")
            found = {i: self.metrics[i] for i in ids if i in self.metrics}
            return 200, {}, {"data": found}, 0.0
        if method == "GET" and path.startswith("/posts/by-key/") and scripted is None:
            found = self.published.get(unquote(path.removeprefix("/posts/by-key/")))
            return (200, {}, found, 0.0) if found else (404, {}, {"error": "none"}, 0.0)
        status, headers, payload, delay = self.answer(method, path, scripted)
        stored = 200 <= status < 300 or status in (RESET, CLOSE)  # a lost answer: kept anyway
        if method == "POST" and path == "/posts" and stored and isinstance(payload, dict):
            sent = json.loads(request["body"])
            self.published[sent["key"]] = payload
            self.ledger.accept(payload["id"], "\n\n".join(sent["parts"]), self.clock(), request)
        return status, headers, payload, delay

    def answer(self, method: str, path: str, scripted: Answer | None) -> Answer:
        status, headers, payload, delay = scripted if scripted is not None else self.default
        if payload is None and path.startswith("/posts"):
            self.counter += 1
            payload = {"id": str(self.counter), "url": f"https://testnet.invalid/p/{self.counter}"}
        elif payload is None:
            payload = {"handle": "@acme"}
        return status, headers, payload, delay

    def posts(self) -> list[dict[str, Any]]:
        return self.json_bodies("POST", "/posts")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL on a fresh schema, dropped afterwards; skips without the env var."""
    base = os.environ.get("CROSSPOST_TEST_DATABASE_URL")
    if not base:
        pytest.skip("CROSSPOST_TEST_DATABASE_URL is not set")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def server() -> Iterator[Any]:
    """A local blog serving feeds (see feedserver.py)."""
    from feedserver import FeedServer

    feeds = FeedServer()
    yield feeds
    feeds.close()


@pytest.fixture
def client() -> Iterator[Any]:
    """The feed fetcher's own httpx client."""
    from crosspost.sources.feeds.fetch import new_client

    with new_client() as fetcher:
        yield fetcher


@pytest.fixture
def net() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    server.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


BASE_CONFIG = """
[daemon]
timezone = "{timezone}"
state_dir = "var"
database = "{database}"
calendars = ["calendar.toml", "calendar.d/*.toml"]
catch_up = "2h"
secrets = "secrets.toml"

[voices.plain]
template = "{{{{ text }}}}{{% if link %}} {{{{ link }}}}{{% endif %}}"
overflow = "{overflow}"

[accounts.box]
network = "outbox"
voice = "plain"
path = "var/outbox"
limit = {limit}

[adapters]
testnet = "{tests}/netadapter.py:HttpTestAdapter"
commentnet = "{tests}/netadapter.py:CommentingTestAdapter"
keynet = "{tests}/netadapter.py:KeyedCommentingTestAdapter"

[accounts.net]
network = "testnet"
voice = "plain"
api_base_url = "{net_url}"
timeout = {net_timeout}
"""


def write_site(
    folder: Path,
    calendar: str = "",
    *,
    net_url: str = "http://127.0.0.1:9",
    limit: int = 500,
    overflow: str = "truncate",
    timezone: str = "UTC",
    database: str = "",
    extra: str = "",
    net_timeout: float = 2.0,
) -> Path:
    """Write crosspost.toml, secrets.toml and calendar.toml into `folder`."""
    (folder / "crosspost.toml").write_text(
        BASE_CONFIG.format(
            timezone=timezone,
            database=database,
            net_url=net_url,
            limit=limit,
            overflow=overflow,
            net_timeout=net_timeout,
            tests=Path(__file__).resolve().parent,
        )
        + extra
    )
    secrets = folder / "secrets.toml"
    secrets.write_text('[accounts.net]\ntoken = "s3cr3t-token-value"\n')
    os.chmod(secrets, 0o600)
    (folder / "calendar.toml").write_text(calendar)
    (folder / "calendar.d").mkdir(exist_ok=True)
    return folder / "crosspost.toml"


TALK = '\n[accounts.talk]\nnetwork = "commentnet"\nvoice = "plain"\napi_base_url = "{url}"\n'


@pytest.fixture
def talk_site(make_site, net, tmp_path: Path):  # type: ignore[no-untyped-def]
    """`make_site` with the account "talk" on the test network that comments and measures
    (served by `net`), its token in the secrets file; `extra` goes on in [accounts.talk]."""

    def make(calendar: str = "", extra: str = "", **options: Any) -> Path:
        path: Path = make_site(calendar, net_url=net.url, extra=TALK.format(url=net.url) + extra,
                               **options)  # fmt: skip
        with (tmp_path / "secrets.toml").open("a") as secrets:
            secrets.write('[accounts.talk]\ntoken = "s3cr3t-token-value"\n')
        return path

    return make


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    """The daemon subprocesses a test starts (append them); any still running is killed."""
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


@pytest.fixture
def make_site(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`write_site` into the test's temp folder."""

    def make(calendar: str = "", **options: Any) -> Path:
        return write_site(tmp_path, calendar, **options)

    return make

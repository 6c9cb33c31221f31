"""Shared fixtures: config files on disk, a scripted HTTP network, a controllable clock."""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from crosspost.timeutil import ManualClock

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


class ScriptedServer:
    """A local HTTP server answering from a script; records every request it gets."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], Any, float]] = []
        self.requests: list[dict[str, Any]] = []
        self.default = (200, {}, None, 0.0)
        self.counter = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                status, headers, payload, delay = (
                    server.script.pop(0) if server.script else server.default
                )
                if delay:
                    time.sleep(delay)  # the network being slow, not the test waiting
                if payload is None and self.path.startswith("/posts"):
                    server.counter += 1
                    payload = {
                        "id": str(server.counter),
                        "url": f"https://testnet.invalid/p/{server.counter}",
                    }
                elif payload is None:
                    payload = {"handle": "@acme"}
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def posts(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests if r["path"] == "/posts"]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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

[accounts.net]
network = "netadapter:HttpTestAdapter"
voice = "plain"
api_base_url = "{net_url}"
timeout = {net_timeout}
"""


@pytest.fixture
def make_site(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write crosspost.toml, secrets.toml and calendar.toml into a temp folder."""

    def make(
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
        (tmp_path / "crosspost.toml").write_text(
            BASE_CONFIG.format(
                timezone=timezone,
                database=database,
                net_url=net_url,
                limit=limit,
                overflow=overflow,
                net_timeout=net_timeout,
            )
            + extra
        )
        secrets = tmp_path / "secrets.toml"
        secrets.write_text('[accounts.net]\ntoken = "s3cr3t-token-value"\n')
        os.chmod(secrets, 0o600)
        (tmp_path / "calendar.toml").write_text(calendar)
        return tmp_path / "crosspost.toml"

    return make

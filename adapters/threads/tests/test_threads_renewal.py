"""The daemon's daily token check with a network that renews its own token: the adapter's
expiry replaces the secrets file's date, and the 7-day warning comes from it."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fakethreads import TOKEN, USER, FakeThreads

from crosspost import logs
from crosspost.service.runtime import Runtime
from crosspost.timeutil import ManualClock

CONFIG = """
[daemon]
timezone = "UTC"
state_dir = "var"
secrets = "secrets.toml"
calendars = ["calendar.toml"]

[voices.casual]
template = "{{{{ text }}}}"

[accounts.acme_threads]
network = "threads"
voice = "casual"
api_base_url = "{url}"
threads_user_id = "{user}"
timeout = 2
"""


@pytest.fixture
def server() -> Iterator[FakeThreads]:
    fake = FakeThreads()
    yield fake
    fake.close()


def test_renewals_replace_the_secrets_file_date_and_warn_7_days_ahead(
    server: FakeThreads, tmp_path: Path
) -> None:
    clock = ManualClock(datetime(2026, 12, 2, 9, tzinfo=UTC))
    (tmp_path / "crosspost.toml").write_text(CONFIG.format(url=server.url, user=USER))
    (tmp_path / "calendar.toml").write_text("")
    soon = (clock() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[accounts.acme_threads]\naccess_token = "{TOKEN}"\naccess_token_expires_at = {soon}\n'
    )
    secrets.chmod(0o600)
    stream = io.StringIO()
    logs.configure("logfmt", "info", stream)
    runtime = Runtime(tmp_path / "crosspost.toml", clock)
    try:
        assert runtime.check_tokens() == 0  # renewed: 60 days, the file's 3 days no longer count
        refreshes = [r for r in server.requests if r["path"].startswith("/refresh_access_token")]
        assert len(refreshes) == 1
        clock.advance(timedelta(days=10))
        assert runtime.check_tokens() == 0 and len(server.requests) == 1  # 50 days left: kept

        clock.advance(timedelta(days=40))  # 10 days left: renewed, Meta gives only 5 days
        server.script.append((200, {}, {"access_token": "short-SECRET", "expires_in": 432000}, 0))
        assert runtime.check_tokens() == 1
        out = stream.getvalue()
        assert 'event="token expires"' in out and "crosspost auth acme_threads" in out
        assert (clock() + timedelta(days=5)).strftime("%Y-%m-%d") in out

        server.tokens.clear()  # revoked: the renewal fails and says so; the file's date counts
        clock.advance(timedelta(days=1))
        assert runtime.check_tokens() == 1
        out = stream.getvalue()
        assert 'event="cannot renew credentials"' in out and 'event="token expired"' in out
        for secret in (TOKEN, "short-SECRET", "THAA-refreshed"):
            assert secret not in out
    finally:
        runtime.engine.dispose()

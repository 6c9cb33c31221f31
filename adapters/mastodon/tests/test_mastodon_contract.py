"""The shared adapter contract, run against the Mastodon adapter and its local stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from crosspost_mastodon import MastodonAdapter
from fakemastodon import TOKEN, FakeMastodon, make_mastodon, mastodon_error

from crosspost.testing.contract import AdapterContract, AdapterHarness, Failure

SECRETS = {"access_token": TOKEN}


class MastodonHarness(AdapterHarness):
    secrets = SECRETS

    def __init__(self, server: FakeMastodon) -> None:
        self.server = server

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> MastodonAdapter:
        return make_mastodon(base_url or self.server, tmp, **settings)

    def requests_seen(self) -> int:
        return len(self.server.requests)

    def fail_next(self, failure: Failure) -> bool:
        if failure == "rate_limited":
            self.server.script.append(self.server.rate_limit_answer(time.time() + 900))
            return True
        self.server.script.append(
            {
                "transient": mastodon_error(503, "Service Unavailable"),
                "permanent": mastodon_error(422, "Validation failed: Text can't be blank"),
                "auth": mastodon_error(401, "The access token is invalid"),
            }[failure]
        )
        return True

    def fault_publishing(self, kind: int) -> bool:
        self.server.fault("POST", "/api/v1/statuses", kind)
        return True


@pytest.fixture
def harness() -> Iterator[MastodonHarness]:
    server = FakeMastodon()
    yield MastodonHarness(server)
    server.close()


class TestMastodonContract(AdapterContract):
    pass


def test_the_rate_limit_lifts_at_the_header_time(tmp_path: Path) -> None:
    server = FakeMastodon()
    try:
        reset = int(time.time()) + 600
        server.script.append(server.rate_limit_answer(reset))
        from crosspost.adapter import OutgoingPost, RateLimited

        with pytest.raises(RateLimited) as info:
            make_mastodon(server, tmp_path).publish(OutgoingPost(parts=("Hello",)), "k:1")
        assert info.value.retry_after is not None  # a wait: it holds on the core's clock
        until = datetime.now(UTC) + info.value.retry_after
        assert abs(until - datetime.fromtimestamp(reset, UTC)).total_seconds() < 3
    finally:
        server.close()

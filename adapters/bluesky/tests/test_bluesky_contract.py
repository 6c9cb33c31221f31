"""The shared adapter contract, run against the Bluesky adapter and its stand-in PDS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crosspost_bluesky import BlueskyAdapter
from fakebluesky import PASSWORD, FakeBluesky, make_bluesky, xrpc_error

from crosspost.testing.contract import AdapterContract, AdapterHarness, Failure

SECRETS = {"app_password": PASSWORD}


class BlueskyHarness(AdapterHarness):
    secrets = SECRETS

    def __init__(self, server: FakeBluesky) -> None:
        self.server = server

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> BlueskyAdapter:
        return make_bluesky(base_url or self.server, tmp, **settings)

    def requests_seen(self) -> int:
        return len(self.server.requests)

    def fail_next(self, failure: Failure) -> bool:
        if failure == "rate_limited":
            self.server.script.append(self.server.rate_limit_answer(time.time() + 900))
            return True
        self.server.script.append(
            {
                "transient": xrpc_error(503, "ServiceUnavailable", "Service Unavailable"),
                "permanent": xrpc_error(400, "InvalidRequest", "Input/repo must be a string"),
                "auth": xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password"),
            }[failure]
        )
        return True

    def fault_publishing(self, kind: int) -> bool:
        self.server.fault("POST", "/xrpc/com.atproto.repo.createRecord", kind)
        return True


@pytest.fixture
def harness() -> Iterator[BlueskyHarness]:
    server = FakeBluesky()
    yield BlueskyHarness(server)
    server.close()


class TestBlueskyContract(AdapterContract):
    pass

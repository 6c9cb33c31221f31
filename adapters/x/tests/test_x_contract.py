"""The shared adapter contract, run against the X adapter and its local stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crosspost_x import XAdapter
from fakex import OAUTH1, FakeX, make_x, x_error

from crosspost.testing.contract import AdapterContract, AdapterHarness, Failure

FAILURES = {
    "transient": x_error(503, "Service Unavailable"),
    "rate_limited": x_error(429, "Too Many Requests", {"x-rate-limit-reset": "0"}),
    "permanent": x_error(403, "You are not allowed to create a Tweet with duplicate content."),
    "auth": x_error(401, "Unauthorized"),
}


class XHarness(AdapterHarness):
    secrets = OAUTH1

    def __init__(self, server: FakeX) -> None:
        self.server = server

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> XAdapter:
        return make_x(base_url or self.server, tmp, **settings)

    def requests_seen(self) -> int:
        return len(self.server.requests)

    def fail_next(self, failure: Failure) -> bool:
        status, headers, body, delay = FAILURES[failure]
        if failure == "rate_limited":
            headers = {"x-rate-limit-reset": str(int(time.time()) + 900)}
        self.server.script.append((status, headers, body, delay))
        return True

    def fault_publishing(self, kind: int) -> bool:
        self.server.fault("POST", "/2/tweets", kind)
        return True


@pytest.fixture
def harness() -> Iterator[XHarness]:
    server = FakeX()
    yield XHarness(server)
    server.close()


class TestXContract(AdapterContract):
    pass

"""The shared adapter contract, run against the LinkedIn adapter and its local stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crosspost_linkedin import LinkedInAdapter
from fakelinkedin import FakeLinkedIn

from crosspost.adapter import construct
from crosspost.testing import Answer
from crosspost.testing.contract import AdapterContract, AdapterHarness, Failure

FAILURES: dict[str, Answer] = {
    "transient": (503, {}, {"message": "Service Unavailable"}, 0),
    "rate_limited": (429, {"Retry-After": "60"}, {"message": "Too Many Requests"}, 0),
    "permanent": (422, {}, {"message": "ERROR :: /commentary :: too long"}, 0),
    "auth": (401, {}, {"message": "Invalid access token"}, 0),
}
TOKEN = {"access_token": "AQV-contract-secret"}


class LinkedInHarness(AdapterHarness):
    secrets = TOKEN

    def __init__(self, server: FakeLinkedIn) -> None:
        self.server = server

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> LinkedInAdapter:
        table = {
            "author": "urn:li:organization:42",
            "api_base_url": base_url or self.server.url,
            **settings,
        }
        return construct(LinkedInAdapter, "li", table, dict(TOKEN), tmp, tmp)

    def requests_seen(self) -> int:
        return len(self.server.requests)

    def fail_next(self, failure: Failure) -> bool:
        self.server.script.append(FAILURES[failure])
        return True

    def fault_publishing(self, kind: int) -> bool:
        self.server.fault("POST", "/rest/posts", kind)
        return True


@pytest.fixture
def harness() -> Iterator[LinkedInHarness]:
    server = FakeLinkedIn()
    yield LinkedInHarness(server)
    server.close()


class TestLinkedInContract(AdapterContract):
    pass

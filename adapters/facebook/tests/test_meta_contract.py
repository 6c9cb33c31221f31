"""The shared adapter contract, run against the Facebook Page and Instagram adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crosspost_facebook import FacebookPageAdapter, InstagramAdapter
from fakemeta import FakeGraph, FakeInstagram

from crosspost.adapter import construct
from crosspost.testing import Answer, ScriptedHTTPServer
from crosspost.testing.contract import AdapterContract, AdapterHarness, Failure

USAGE = {"x-app-usage": json.dumps({"call_count": 100, "estimated_time_to_regain_access": 12})}
FAILURES: dict[str, Answer] = {
    "transient": (500, {}, {"error": {"message": "Unexpected error", "code": 2}}, 0),
    "rate_limited": (400, USAGE, {"error": {"message": "Too many calls", "code": 4}}, 0),
    "permanent": (400, {}, {"error": {"message": "Duplicate status message", "code": 506}}, 0),
    "auth": (400, {}, {"error": {"message": "Session has expired", "code": 190}}, 0),
}
TOKEN = {"page_access_token": "EAA-contract-secret"}


class GraphHarness(AdapterHarness):
    secrets = TOKEN

    def __init__(self, server: ScriptedHTTPServer) -> None:
        self.server = server

    def requests_seen(self) -> int:
        return len(self.server.requests)

    def fail_next(self, failure: Failure) -> bool:
        self.server.script.append(FAILURES[failure])
        return True


class PageHarness(GraphHarness):
    def fault_publishing(self, kind: int) -> bool:
        self.server.fault("POST", "/v23.0/123/feed", kind)
        return True

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> FacebookPageAdapter:
        table = {"page_id": "123", "api_base_url": base_url or self.server.url, **settings}
        return construct(FacebookPageAdapter, "fb", table, dict(TOKEN), tmp, tmp)


class InstagramHarness(GraphHarness):
    def fault_publishing(self, kind: int) -> bool:
        self.server.fault("POST", "/v23.0/178/media_publish", kind)
        return True

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> InstagramAdapter:
        table = {
            "ig_user_id": "178",
            "api_base_url": base_url or self.server.url,
            "media_base_url": "https://acme.example/files",
            **settings,
        }
        return construct(InstagramAdapter, "ig", table, dict(TOKEN), tmp, tmp)


@pytest.fixture
def page_harness() -> Iterator[PageHarness]:
    server = FakeGraph()
    yield PageHarness(server)
    server.close()


@pytest.fixture
def instagram_harness() -> Iterator[InstagramHarness]:
    server = FakeInstagram()
    yield InstagramHarness(server)
    server.close()


class TestFacebookPageContract(AdapterContract):
    @pytest.fixture
    def harness(self, page_harness: PageHarness) -> PageHarness:
        return page_harness


class TestInstagramContract(AdapterContract):
    @pytest.fixture
    def harness(self, instagram_harness: InstagramHarness) -> InstagramHarness:
        return instagram_harness

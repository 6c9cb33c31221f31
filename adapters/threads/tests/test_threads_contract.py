"""The shared adapter contract, run against the Threads adapter and its local stand-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from crosspost_threads import ThreadsAdapter
from fakethreads import TOKEN, USER, FakeThreads, graph_error, make_threads

from crosspost.testing.contract import AdapterContract, AdapterHarness, Failure


class ThreadsHarness(AdapterHarness):
    secrets: ClassVar[dict[str, str]] = {"access_token": TOKEN}

    def __init__(self, server: FakeThreads) -> None:
        self.server = server

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> ThreadsAdapter:
        return make_threads(base_url or self.server, tmp, **settings)

    def requests_seen(self) -> int:
        return len(self.server.requests)

    def fail_next(self, failure: Failure) -> bool:
        if failure == "rate_limited":
            self.server.script.append(self.server.rate_limit_answer(time.time() + 600))
            return True
        self.server.script.append(
            {
                "transient": self.server.error_answer(),
                "permanent": graph_error(400, 100, "Param text must be a string"),
                "auth": graph_error(400, 190, "Error validating access token"),
            }[failure]
        )
        return True

    def fault_publishing(self, kind: int) -> bool:
        self.server.fault("POST", f"/v1.0/{USER}/threads_publish", kind)
        return True


@pytest.fixture
def harness() -> Iterator[ThreadsHarness]:
    server = FakeThreads()
    yield ThreadsHarness(server)
    server.close()


class TestThreadsContract(AdapterContract):
    pass

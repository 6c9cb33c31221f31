"""The shared adapter contract, run against the core's own outbox network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crosspost.adapter import construct
from crosspost.outbox import OutboxAdapter
from crosspost.testing.contract import AdapterContract, AdapterHarness


class OutboxHarness(AdapterHarness):
    networked = False

    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> OutboxAdapter:
        return construct(OutboxAdapter, "box", {"path": "out", **settings}, {}, tmp, tmp)


@pytest.fixture
def harness() -> OutboxHarness:
    return OutboxHarness()


class TestOutboxContract(AdapterContract):
    pass

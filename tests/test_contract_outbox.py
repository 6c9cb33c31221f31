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


def test_an_outbox_counts_as_an_installed_network_does(tmp_path: Path) -> None:
    """The demo's X stand-in: `counting = "x"` borrows crosspost-x's own count (CJK weighs
    2, a URL 23), which lives in that adapter, not in the core."""
    from crosspost.adapter import AdapterConfigError

    box = construct(OutboxAdapter, "box", {"counting": "x", "limit": 280}, {}, tmp_path, tmp_path)
    assert box.rules.count("日本語 https://example.com/a/very/long/path") == 6 + 1 + 23
    assert box.rules.fits("a" * 280) and not box.rules.fits("日" * 141)
    with pytest.raises(AdapterConfigError, match="counts as the nosuchnet network does") as bad:
        construct(OutboxAdapter, "box", {"counting": "nosuchnet"}, {}, tmp_path, tmp_path)
    assert bad.value.key == "counting"

"""One contract test suite for every adapter (outbox included), as APScheduler runs one suite
against every backend.

An adapter's tests subclass `AdapterContract` and provide a ``harness`` fixture returning an
`AdapterHarness`: how to build the adapter against its local stand-in, and how to make the
stand-in fail in each way the contract names. The suite then checks what the core relies on:
construction does no I/O, `verify` returns a handle, `publish` returns a receipt with a URL,
every failure arrives as the right class without a secret in it, and a bad settings key is
named. Only tests import this module (it needs pytest).
"""

from __future__ import annotations

import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from crosspost.adapter import (
    Adapter,
    AdapterConfigError,
    AuthError,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PermanentError,
    Profile,
    PublishError,
    RateLimited,
    Receipt,
    TransientError,
)
from crosspost.render.textrules import TextRules
from crosspost.sources.calendar import Image
from crosspost.testing import CLOSE, RESET

Failure = Literal["transient", "rate_limited", "permanent", "auth"]
EXPECTED: dict[Failure, type[PublishError]] = {
    "transient": TransientError,
    "rate_limited": RateLimited,
    "permanent": PermanentError,
    "auth": AuthError,
}


def publish_all_steps(
    adapter: Adapter,
    post: OutgoingPost,
    key: str,
    waited: Callable[[timedelta], object] = lambda _: None,
    max_steps: int = 50,
) -> Receipt:
    """Publish as the core does, without its scheduler: each `Pending` step's progress is
    handed back at once (`waited` is told how long the core would have waited, so a test
    can move its clock), until a Receipt or an error."""
    for _ in range(max_steps):
        try:
            return adapter.publish(post, key)
        except Pending as step:
            waited(step.after)
            post = replace(post, progress=step.progress)
    raise AssertionError(f"still pending after {max_steps} steps")


class AdapterHarness(ABC):
    """What the suite needs to know about one adapter and its stand-in."""

    secrets: ClassVar[dict[str, str]] = {}  # values that must never appear in an error
    images: bool = True  # the network takes images
    networked: bool = True  # it talks to a server (the outbox writes files)

    @abstractmethod
    def make(self, tmp: Path, base_url: str | None = None, **settings: Any) -> Adapter:
        """The adapter, against the stand-in (or `base_url`), with extra `settings` keys."""

    def requests_seen(self) -> int:
        """How many requests reached the stand-in so far."""
        return 0

    def fail_next(self, failure: Failure) -> bool:
        """Script the stand-in's next answer as `failure`; False if the network has none."""
        return False

    def fault_publishing(self, kind: int) -> bool:
        """Make the stand-in answer the request that publishes the post with the fault `kind`
        (`testing.RESET` or `testing.CLOSE`); False if the network has no server."""
        return False


def closed_port_url() -> str:
    """A loopback URL nobody listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def sample_post(adapter: Adapter, tmp: Path, text: str, image: bool = False) -> OutgoingPost:
    """A small post; with an image when asked or when the network needs one."""
    images: tuple[Image, ...] = ()
    if image or adapter.rules.needs_image:
        picture = tmp / "media" / "contract.jpg"
        picture.parent.mkdir(exist_ok=True)
        picture.write_bytes(b"\xff\xd8\xff\xe0contract")
        images = (Image(picture, "A loaf on the counter", "jpeg", 12),)
    return OutgoingPost(parts=(text,), link="https://acme.example/a", images=images)


class AdapterContract:
    """Subclass this in an adapter's tests, with a ``harness`` fixture."""

    def test_it_declares_its_network_and_text_rules(
        self, harness: AdapterHarness, tmp_path: Path
    ) -> None:
        adapter = harness.make(tmp_path)
        assert isinstance(adapter, Adapter)
        assert adapter.network and isinstance(adapter.network, str)
        assert isinstance(adapter.rules, TextRules) and adapter.rules.limit > 0

    def test_building_it_does_no_io(self, harness: AdapterHarness, tmp_path: Path) -> None:
        before = harness.requests_seen()
        harness.make(tmp_path)
        harness.make(tmp_path, base_url=closed_port_url())
        assert harness.requests_seen() == before

    def test_verify_returns_the_profile(self, harness: AdapterHarness, tmp_path: Path) -> None:
        profile = harness.make(tmp_path).verify()
        assert isinstance(profile, Profile) and profile.handle.strip()

    def test_publish_returns_an_id_and_a_url(self, harness: AdapterHarness, tmp_path: Path) -> None:
        adapter = harness.make(tmp_path)
        receipt = publish_all_steps(
            adapter, sample_post(adapter, tmp_path, "Contract post"), "contract:1"
        )
        assert receipt.remote_id
        assert receipt.url.startswith(("https://", "http://", "file://"))

    def test_publish_with_an_image(self, harness: AdapterHarness, tmp_path: Path) -> None:
        if not harness.images:
            pytest.skip("this network takes no images")
        adapter = harness.make(tmp_path)
        post = sample_post(adapter, tmp_path, "With a picture", image=True)
        assert publish_all_steps(adapter, post, "contract:2").remote_id

    @pytest.mark.parametrize("failure", list(EXPECTED))
    def test_each_failure_has_its_class_and_no_secret(
        self, harness: AdapterHarness, tmp_path: Path, failure: Failure
    ) -> None:
        adapter = harness.make(tmp_path)
        if not harness.fail_next(failure):
            pytest.skip(f"this network cannot fail with {failure}")
        with pytest.raises(PublishError) as info:
            publish_all_steps(
                adapter, sample_post(adapter, tmp_path, "Failing"), f"contract:{failure}"
            )
        assert type(info.value) is EXPECTED[failure]
        if failure == "rate_limited":
            assert isinstance(info.value, RateLimited)
            assert info.value.reset_at is not None or info.value.retry_after is not None
        for secret in harness.secrets.values():
            assert secret not in str(info.value)

    def test_an_unreachable_network_is_transient(
        self, harness: AdapterHarness, tmp_path: Path
    ) -> None:
        if not harness.networked:
            pytest.skip("this network has no server")
        adapter = harness.make(tmp_path, base_url=closed_port_url())
        with pytest.raises(PublishError) as info:
            publish_all_steps(
                adapter, sample_post(adapter, tmp_path, "Nobody listens"), "contract:down"
            )
        assert type(info.value) is TransientError

    @pytest.mark.parametrize("kind", [RESET, CLOSE], ids=["reset", "closed"])
    def test_a_connection_lost_after_the_post_was_sent_is_an_unknown_outcome(
        self, harness: AdapterHarness, tmp_path: Path, kind: int
    ) -> None:
        adapter = harness.make(tmp_path)
        if not harness.fault_publishing(kind):
            pytest.skip("this network has no server")
        with pytest.raises(PublishError) as info:
            publish_all_steps(
                adapter, sample_post(adapter, tmp_path, "Lost answer"), "contract:lost"
            )
        assert type(info.value) is OutcomeUnknown  # never retried blindly: it may be posted

    def test_an_unknown_settings_key_is_named(
        self, harness: AdapterHarness, tmp_path: Path
    ) -> None:
        with pytest.raises(AdapterConfigError) as info:
            harness.make(tmp_path, colour="blue")
        assert info.value.key == "colour"

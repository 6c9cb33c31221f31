"""The status and source words are stored in databases that outlive a version: pinned."""

from __future__ import annotations

import json

from crosspost.model import Source, Status


def test_the_stored_words_do_not_change() -> None:
    assert [s.value for s in Status] == [
        "queued", "sending", "sent", "failed", "in_doubt", "missed", "cancelled", "held",
    ]  # fmt: skip
    assert [s.value for s in Source] == ["calendar", "feed"]


def test_they_read_as_their_words_everywhere() -> None:
    assert Status.IN_DOUBT == "in_doubt" and f"{Status.SENT}" == "sent"
    assert json.dumps({"status": Status.FAILED}) == '{"status": "failed"}'
    assert [s for s in Status if not s.settled] == [Status.QUEUED, Status.SENDING]

"""The Facebook Page adapter against a local Graph API stand-in: requests, errors, reset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from crosspost_facebook import FacebookPageAdapter
from fakemeta import FakeGraph

from crosspost.adapter import (
    AuthError,
    Engagement,
    OutcomeUnknown,
    OutgoingPost,
    PermanentError,
    RateLimited,
    TransientError,
    construct,
)
from crosspost.sources.calendar import Image


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    fake = FakeGraph()
    yield fake
    fake.close()


def page(graph: FakeGraph, **extra: Any) -> FacebookPageAdapter:
    settings = {"page_id": "123", "api_base_url": graph.url, **extra}
    token = {"page_access_token": "EAAtoken-secret"}
    adapter = construct(FacebookPageAdapter, "fb", settings, token, Path("."), Path("."))
    assert isinstance(adapter, FacebookPageAdapter)
    return adapter


def test_text_and_link_go_to_the_feed(graph) -> None:
    receipt = page(graph).publish(
        OutgoingPost(parts=("Fresh bread!",), link="https://acme.example/b"), "k"
    )
    assert receipt.remote_id == "123_991" and receipt.url == "https://www.facebook.com/123_991"
    [request] = graph.requests
    assert request["path"] == "/v23.0/123/feed"
    assert request["headers"]["Authorization"] == "Bearer EAAtoken-secret"
    assert b"message=Fresh+bread%21" in request["body"]
    assert b"link=https%3A%2F%2Facme.example%2Fb" in request["body"]


def test_one_image_goes_to_photos_with_alt_text(graph, tmp_path) -> None:
    picture = tmp_path / "bread.jpg"
    picture.write_bytes(b"\xff\xd8\xffjpeg!")
    receipt = page(graph, graph_version="v24.0").publish(
        OutgoingPost(parts=("Look",), images=(Image(picture, "A loaf"),)), "k"
    )
    assert graph.requests[0]["path"] == "/v24.0/123/photos"
    body = graph.requests[0]["body"]
    assert b'name="alt_text_custom"\r\n\r\nA loaf' in body and b"jpeg!" in body
    assert receipt.remote_id == "123_551"


def test_several_images_are_attached_to_one_post(graph, tmp_path) -> None:
    images = []
    for n in range(2):
        (tmp_path / f"{n}.jpg").write_bytes(b"\xff\xd8\xffimg")
        images.append(Image(tmp_path / f"{n}.jpg", f"alt {n}"))
    page(graph).publish(OutgoingPost(parts=("Two",), images=tuple(images)), "k")
    assert [r["path"] for r in graph.requests] == ["/v23.0/123/photos"] * 2 + ["/v23.0/123/feed"]
    assert b'name="published"\r\n\r\nfalse' in graph.requests[0]["body"]
    assert b"attached_media%5B1%5D=%7B%22media_fbid%22%3A+%22552%22%7D" in graph.requests[2]["body"]


@pytest.mark.parametrize(
    ("status", "error", "error_class", "text"),
    [
        (400, {"code": 190, "message": "Error validating access token"}, AuthError, "expired"),
        (400, {"code": 506, "message": "Duplicate status message"}, PermanentError, "duplicate"),
        (403, {"code": 200, "message": "Permissions error"}, PermanentError, "missing permission"),
        (400, {"code": 100, "message": "Invalid parameter"}, PermanentError, "Invalid parameter"),
        (500, {"code": 2, "message": "Service temporarily unavailable"}, TransientError, "code 2"),
        (400, {"code": 32, "message": "Page request limit reached"}, RateLimited, "code 32"),
    ],
)
def test_graph_errors_are_classified(graph, status, error, error_class, text) -> None:
    usage = {"123": [{"type": "pages", "estimated_time_to_regain_access": 15}]}
    graph.script = [(status, {"X-Business-Use-Case-Usage": json.dumps(usage)}, {"error": error}, 0)]
    with pytest.raises(error_class, match=text) as info:
        page(graph).publish(OutgoingPost(parts=("x",)), "k")
    assert "EAAtoken-secret" not in str(info.value)
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == timedelta(minutes=15)


def test_timeout_after_sending_is_unknown_then_reconciled(graph) -> None:
    graph.script = [
        (200, {}, {"id": "123_1"}, 1.0),
        (200, {}, {"data": [{"id": "123_7", "message": "Hello"}]}, 0),
    ]
    adapter = page(graph, timeout=0.3)
    post = OutgoingPost(parts=("Hello",))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post, "k")
    found = adapter.reconcile(post, "k")
    assert found is not None and found.remote_id == "123_7"


def test_verify_returns_the_page_name(graph) -> None:
    assert page(graph).verify().handle == "Acme Bakery"
    assert graph.requests[0]["path"] == "/v23.0/123?fields=name"


def test_the_first_comment_goes_under_the_post_as_the_page(graph) -> None:
    adapter = page(graph)
    receipt = adapter.publish(OutgoingPost(parts=("Fresh bread!",)), "k")
    comment = adapter.comment(receipt, "Order: https://acme.example/order", "k#comment")
    request = graph.requests[-1]
    assert request["path"] == f"/v23.0/{receipt.remote_id}/comments"
    assert request["headers"]["Authorization"] == "Bearer EAAtoken-secret"
    assert graph.comments_on() == {receipt.remote_id: ["Order: https://acme.example/order"]}
    assert comment.remote_id == "991_701"
    assert comment.url == "https://www.facebook.com/123_991?comment_id=701"


def test_a_comment_without_the_permission_or_on_no_post_is_refused(graph) -> None:
    adapter = page(graph)
    receipt = adapter.publish(OutgoingPost(parts=("Fresh bread!",)), "k")
    graph.comment_permission = False
    with pytest.raises(PermanentError, match="missing permission"):
        adapter.comment(receipt, "Order now", "k#comment")
    graph.comment_permission = True
    gone = type(receipt)("123_404", receipt.url)
    with pytest.raises(PermanentError, match="does not exist"):
        adapter.comment(gone, "Order now", "k#comment")


def test_no_answer_to_a_comment_is_an_unknown_outcome(graph) -> None:
    adapter = page(graph, timeout=0.3)
    receipt = adapter.publish(OutgoingPost(parts=("Fresh bread!",)), "k")
    graph.script = [(200, {}, {"id": "991_1"}, 1.0)]
    with pytest.raises(OutcomeUnknown):
        adapter.comment(receipt, "Order now", "k#comment")


def test_measure_reads_reactions_comments_shares_and_insights(graph) -> None:
    adapter = page(graph)
    first = adapter.publish(OutgoingPost(parts=("Fresh bread!",)), "k").remote_id
    second = adapter.publish(OutgoingPost(parts=("Rye!",)), "k2").remote_id

    def metric(name: str, value: int) -> dict[str, object]:
        return {"name": name, "period": "lifetime", "values": [{"value": value}]}

    def total(count: int) -> dict[str, object]:
        return {"data": [], "summary": {"total_count": count}}

    insights = {"data": [metric("post_impressions", 900), metric("post_clicks", 31)]}
    graph.numbers()[first] = {"reactions": total(14), "comments": total(3),
                              "shares": {"count": 2}, "insights": insights}  # fmt: skip
    graph.numbers()[second] = {"reactions": total(1), "comments": total(0)}
    found = adapter.measure([first, second])
    assert found[first] == Engagement(likes=14, reposts=2, replies=3, impressions=900, clicks=31)
    assert found[second].reposts == 0  # Graph leaves `shares` out until somebody shares
    ids = [r["path"] for r in graph.requests[-2:]]
    assert all(p.startswith(f"/v23.0/?ids={first}%2C{second}&fields=") for p in ids)
    graph.insights_permission = False  # no read_insights: the counts still come
    assert adapter.measure([first])[first] == Engagement(likes=14, reposts=2, replies=3)


def test_measure_leaves_out_a_post_deleted_since(graph) -> None:
    adapter = page(graph)
    kept = adapter.publish(OutgoingPost(parts=("Fresh bread!",)), "k").remote_id
    found = adapter.measure([kept, "123_404"])  # Graph fails the whole call: each alone
    assert list(found) == [kept] and found[kept].likes is None  # no reactions field: missing

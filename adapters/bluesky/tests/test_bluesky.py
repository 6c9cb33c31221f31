"""The Bluesky adapter through its real HTTP code, against a stand-in PDS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from crosspost_bluesky.records import TID, record_key
from fakebluesky import DID, FakeBluesky, make_bluesky

from crosspost.adapter import (
    Engagement,
    Image,
    OutcomeUnknown,
    OutgoingPost,
    PermanentError,
    RateLimited,
)
from crosspost.testing.faults import FaultPlan


@pytest.fixture
def server() -> Iterator[FakeBluesky]:
    fake = FakeBluesky()
    yield fake
    fake.close()


def _slice(text: str, facet: dict) -> str:
    raw = text.encode()
    return raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()


def test_links_mentions_and_hashtags_get_facets_at_byte_offsets(
    server: FakeBluesky, tmp_path: Path
) -> None:
    text = (
        "Crème brûlée 🍮 avec @camille.bsky.social et @nobody.example : "
        "https://acme.example/blog/crème #Pâtisserie #2026"
    )
    make_bluesky(server, tmp_path).publish(OutgoingPost(parts=(text,)), "facets:1")
    [record] = server.posts()
    found = {f["features"][0]["$type"].rsplit("#", 1)[1]: f for f in record["facets"]}
    assert _slice(text, found["link"]) == "https://acme.example/blog/crème"
    assert found["link"]["features"][0]["uri"] == "https://acme.example/blog/crème"
    assert _slice(text, found["mention"]) == "@camille.bsky.social"
    assert found["mention"]["features"][0]["did"] == "did:plc:camille"
    assert _slice(text, found["tag"]) == "#Pâtisserie"
    assert found["tag"]["features"][0]["tag"] == "Pâtisserie"
    assert len(record["facets"]) == 3  # @nobody.example does not resolve; #2026 is no tag


def test_the_link_becomes_a_card_with_the_image_as_its_thumbnail(
    server: FakeBluesky, tmp_path: Path
) -> None:
    picture = tmp_path / "loaf.jpg"
    picture.write_bytes(b"\xff\xd8\xff\xe0" + b"x" * 50)
    post = OutgoingPost(
        parts=("Winter bread is back",),
        link="https://acme.example/winter",
        title="Winter bread",
        images=(Image(picture, "A dark rye loaf", "jpeg", 54),),
        meta={"description": "Rye, spelt and a long cold proof"},
    )
    make_bluesky(server, tmp_path).publish(post, "card:1")
    [record] = server.posts()
    card = record["embed"]
    assert card["$type"] == "app.bsky.embed.external"
    assert card["external"]["uri"] == "https://acme.example/winter"
    assert card["external"]["title"] == "Winter bread"
    assert card["external"]["description"] == "Rye, spelt and a long cold proof"
    assert server.blobs[card["external"]["thumb"]["ref"]["$link"]] == picture.read_bytes()


def test_several_images_keep_their_alt_text(server: FakeBluesky, tmp_path: Path) -> None:
    images = []
    for n in range(3):
        path = tmp_path / f"p{n}.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([n]) * 20)
        images.append(Image(path, f"Photo {n}", "png", 28))
    post = OutgoingPost(parts=("Three loaves https://acme.example/x",), images=tuple(images))
    make_bluesky(server, tmp_path).publish(post, "imgs:1")
    [record] = server.posts()
    assert record["embed"]["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in record["embed"]["images"]] == ["Photo 0", "Photo 1", "Photo 2"]
    uploads = [r for r in server.requests if r["path"].endswith("uploadBlob")]
    assert [r["headers"]["Content-Type"] for r in uploads] == ["image/png"] * 3


def test_a_thread_has_root_and_parent_references(server: FakeBluesky, tmp_path: Path) -> None:
    receipt = make_bluesky(server, tmp_path).publish(
        OutgoingPost(parts=("one", "two", "three")), "thread:1"
    )
    first, second, third = server.records.values()
    assert "reply" not in first["value"]
    assert second["value"]["reply"] == {
        "root": {"uri": first["uri"], "cid": first["cid"]},
        "parent": {"uri": first["uri"], "cid": first["cid"]},
    }
    assert third["value"]["reply"]["root"]["uri"] == first["uri"]
    assert third["value"]["reply"]["parent"] == {"uri": second["uri"], "cid": second["cid"]}
    rkey = first["uri"].rsplit("/", 1)[1]
    assert receipt.url == f"https://bsky.app/profile/acme.bsky.social/post/{rkey}"


def test_record_keys_are_valid_tids_derived_from_the_delivery() -> None:
    keys = [record_key(f"cal:post-{n}:once:acme_bluesky#0") for n in range(2000)]
    assert all(TID.match(k) for k in keys)
    assert len(set(keys)) == 2000
    assert record_key("a#0") == record_key("a#0") != record_key("a#1")


def test_a_retry_after_a_lost_answer_makes_no_second_post(
    server: FakeBluesky, tmp_path: Path
) -> None:
    post = OutgoingPost(parts=("Fresh bread at 7",))
    server.plan = FaultPlan(at={1: "lost"})  # stored, then the answer is lost
    with pytest.raises(OutcomeUnknown):
        make_bluesky(server, tmp_path).publish(post, "cal:bread:once:acme_bluesky")
    assert len(server.ledger.accepted) == 1
    receipt = make_bluesky(server, tmp_path).publish(post, "cal:bread:once:acme_bluesky")
    assert len(server.ledger.accepted) == 1  # the PDS refused the key (500): it was there
    assert receipt.remote_id == next(iter(server.records.values()))["uri"]
    assert any(r["path"].split("?")[0].endswith("getRecord") for r in server.requests)


def test_the_session_is_kept_and_refreshed_not_a_login_per_post(
    server: FakeBluesky, tmp_path: Path
) -> None:
    make_bluesky(server, tmp_path).publish(OutgoingPost(parts=("one",)), "s:1")
    make_bluesky(server, tmp_path).publish(OutgoingPost(parts=("two",)), "s:2")  # a restart
    assert server.logins == 1
    session = tmp_path / "state" / "bluesky" / "acme_bluesky" / "session.json"
    assert session.stat().st_mode & 0o777 == 0o600
    server.expire_access_tokens()
    make_bluesky(server, tmp_path).publish(OutgoingPost(parts=("three",)), "s:3")
    assert server.logins == 1 and len(server.posts()) == 3
    assert sum(r["path"].endswith("refreshSession") for r in server.requests) == 1


def test_the_rate_limit_reset_is_the_header_time(server: FakeBluesky, tmp_path: Path) -> None:
    reset = int(time.time()) + 300
    adapter = make_bluesky(server, tmp_path)
    adapter.verify()
    server.script.append(server.rate_limit_answer(reset))
    with pytest.raises(RateLimited) as info:
        adapter.publish(OutgoingPost(parts=("Hello",)), "rl:1")
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)


def test_the_limits_are_graphemes_and_bytes(tmp_path: Path, server: FakeBluesky) -> None:
    rules = make_bluesky(server, tmp_path).rules
    assert rules.fits("👍🏽" * 300)  # 300 graphemes, 2,400 bytes
    assert not rules.fits("👍🏽" * 301)
    assert not rules.fits("👨‍👩‍👧‍👦" * 150)  # 150 graphemes, but 3,750 bytes


def test_reconcile_reads_the_record_by_its_key(server: FakeBluesky, tmp_path: Path) -> None:
    adapter = make_bluesky(server, tmp_path)
    post = OutgoingPost(parts=("Lost in the post",))
    assert adapter.reconcile(post, "rec:1") is None
    server.plan = FaultPlan(at={1: "lost"})
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post, "rec:1")
    found = make_bluesky(server, tmp_path).reconcile(post, "rec:1")
    assert found is not None and found.remote_id.startswith(f"at://{DID}/app.bsky.feed.post/")


def test_the_first_comment_is_a_reply_with_the_posts_strong_refs(server, tmp_path) -> None:
    bluesky = make_bluesky(server, tmp_path)
    receipt = bluesky.publish(OutgoingPost(parts=("Fresh bread", "More below")), "k")
    comment = bluesky.comment(receipt, "Order: https://acme.example/order", "k#comment")
    root = server.records[record_key("k#0")]
    reply = server.records[record_key("k#comment")]
    assert reply["value"]["text"] == "Order: https://acme.example/order"
    assert reply["value"]["reply"] == {
        "root": {"uri": root["uri"], "cid": root["cid"]},
        "parent": {"uri": root["uri"], "cid": root["cid"]},  # under the post itself
    }
    assert reply["value"]["facets"][0]["features"][0]["uri"] == "https://acme.example/order"
    assert server.orphans == []  # the refs are right, so apps show the reply
    assert comment.remote_id == reply["uri"] and comment.url.endswith(record_key("k#comment"))
    again = bluesky.comment(receipt, "Order: https://acme.example/order", "k#comment")
    assert again == comment and len(server.records) == 3  # its record key: one reply


def test_a_comment_on_a_post_deleted_since_is_refused(server, tmp_path) -> None:
    bluesky = make_bluesky(server, tmp_path)
    receipt = bluesky.publish(OutgoingPost(parts=("Fresh bread",)), "k")
    server.records.clear()
    with pytest.raises(PermanentError, match="no longer on Bluesky"):
        bluesky.comment(receipt, "Order now", "k#comment")


def test_measure_reads_the_counts_of_up_to_25_posts(server, tmp_path) -> None:
    bluesky = make_bluesky(server, tmp_path)
    thread = bluesky.publish(OutgoingPost(parts=("Fresh bread", "More below")), "k")
    first, second = thread.parts
    assert first == thread.remote_id and second.startswith(f"at://{DID}/")
    server.counts[first] = {"likeCount": 7, "repostCount": 2, "quoteCount": 1, "replyCount": 3}
    del server.records[second.rsplit("/", 1)[1]]  # deleted since
    found = bluesky.measure([first, second])
    assert found == {first: Engagement(likes=7, reposts=3, replies=3)}
    request = server.requests[-1]
    assert "app.bsky.feed.getPosts" in request["path"] and request["path"].count("uris=") == 2
    assert bluesky.measure_batch == 25

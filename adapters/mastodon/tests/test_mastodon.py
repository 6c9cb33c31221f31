"""The Mastodon adapter through its real HTTP code, against a stand-in instance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fakemastodon import FakeMastodon, make_mastodon, mastodon_error, multipart

from crosspost.adapter import (
    AuthError,
    Engagement,
    Image,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PermanentError,
    Receipt,
)
from crosspost.testing.contract import publish_all_steps
from crosspost.testing.faults import FaultPlan


@pytest.fixture
def server() -> Iterator[FakeMastodon]:
    fake = FakeMastodon()
    yield fake
    fake.close()


def test_verify_reads_the_instances_own_limits(tmp_path: Path) -> None:
    server = FakeMastodon(max_characters=5000)
    try:
        adapter = make_mastodon(server, tmp_path)
        long_text = "word " * 400  # 2,000 characters: too long for 500, fine for 5,000
        assert adapter.rules.limit == 500 and not adapter.rules.fits(long_text)
        profile = adapter.verify()
        assert profile.handle == "@acme@social.example"
        assert profile.rules is not None and profile.rules.limit == 5000
        assert adapter.rules.fits(long_text)
        receipt = adapter.publish(OutgoingPost(parts=(long_text.strip(),)), "long:1")
        assert receipt.url == f"https://social.example/@acme/{receipt.remote_id}"
    finally:
        server.close()


def test_counting_matches_the_instance_at_the_limit(server: FakeMastodon, tmp_path: Path) -> None:
    """Graphemes, URLs 23, remote mentions as @user: exactly 500 passes, 501 is refused."""
    adapter = make_mastodon(server, tmp_path)
    head = "Thanks @camille@bakers.example 👍🏽 see https://acme.example/a/very/long/path/indeed "
    fill = 500 - adapter.rules.count(head)
    exact = head + "é" * fill
    assert adapter.rules.count(exact) == 500 and adapter.rules.fits(exact)
    assert adapter.publish(OutgoingPost(parts=(exact,)), "exact:1").remote_id
    over = exact + "!"
    assert not adapter.rules.fits(over)
    with pytest.raises(PermanentError, match="character limit of 500"):
        adapter.publish(OutgoingPost(parts=(over,)), "over:1")


def test_a_retry_after_a_lost_answer_makes_no_second_status(
    server: FakeMastodon, tmp_path: Path
) -> None:
    adapter = make_mastodon(server, tmp_path)
    post = OutgoingPost(parts=("Fresh bread at 7",))
    server.plan = FaultPlan(at={1: "lost"})  # stored, then the answer is lost
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post, "cal:bread:once:acme_mastodon")
    assert len(server.ledger.accepted) == 1
    receipt = make_mastodon(server, tmp_path).publish(post, "cal:bread:once:acme_mastodon")
    assert len(server.ledger.accepted) == 1
    assert receipt.remote_id == server.statuses[0]["id"]
    keys = [r["headers"]["Idempotency-Key"] for r in server.requests if r["method"] == "POST"]
    assert keys == ["cal:bread:once:acme_mastodon"] * 2


def test_a_thread_is_a_reply_chain_and_a_retry_continues_it(
    server: FakeMastodon, tmp_path: Path
) -> None:
    adapter = make_mastodon(server, tmp_path)
    post = OutgoingPost(parts=("one 1/3", "two 2/3", "three 3/3"))
    calls = {"n": 0}
    original = server.respond

    def failing_third(request, scripted):  # the third status fails with a 503
        if request["method"] == "POST" and request["path"] == "/api/v1/statuses":
            calls["n"] += 1
            if calls["n"] == 3:
                return mastodon_error(503, "Service Unavailable")
        return original(request, scripted)

    server.respond = failing_third  # type: ignore[method-assign]
    with pytest.raises(Exception, match="statuses 1-2 of 3 are posted"):
        adapter.publish(post, "thread:1")
    receipt = adapter.publish(post, "thread:1")
    texts = [s["content"] for s in reversed(server.statuses)]
    assert texts == ["<p>one 1/3</p>", "<p>two 2/3</p>", "<p>three 3/3</p>"]
    chain = [s["in_reply_to_id"] for s in reversed(server.statuses)]
    ids = [s["id"] for s in reversed(server.statuses)]
    assert chain == [None, ids[0], ids[1]]
    assert receipt.remote_id == ids[0]
    assert receipt.url == f"https://social.example/@acme/{ids[0]}"
    keys = [r["headers"].get("Idempotency-Key") for r in server.requests if r["method"] == "POST"]
    assert keys[-4:] == ["thread:1", "thread:1#1", "thread:1#2", "thread:1#2"]


def test_images_carry_alt_text_and_processing_is_a_recorded_step(
    tmp_path: Path,
) -> None:
    server = FakeMastodon(processing_checks=2)
    try:
        picture = tmp_path / "loaf.jpg"
        picture.write_bytes(b"\xff\xd8\xff\xe0" + b"j" * 100)
        post = OutgoingPost(
            parts=("Our new loaf",), images=(Image(picture, "A round loaf", "jpeg", 104),)
        )
        adapter = make_mastodon(server, tmp_path)
        with pytest.raises(Pending) as info:
            adapter.publish(post, "img:1")
        media_id = info.value.progress["media"]
        upload = next(r for r in server.requests if r["path"] == "/api/v2/media")
        assert multipart(upload)["description"] == b"A round loaf"
        assert not server.statuses  # nothing posted while the instance processes
        receipt = publish_all_steps(adapter, replace(post, progress=info.value.progress), "img:1")
        uploads = [r for r in server.requests if r["path"] == "/api/v2/media"]
        assert len(uploads) == 1  # uploaded once, checked at each step
        assert server.status_forms()[-1]["media_ids[]"] == [media_id]
        assert server.statuses[0]["media_attachments"][0]["description"] == "A round loaf"
        assert receipt.remote_id == server.statuses[0]["id"]
    finally:
        server.close()


def test_visibility_language_and_content_warning_from_the_voice_or_the_account(
    server: FakeMastodon, tmp_path: Path
) -> None:
    adapter = make_mastodon(server, tmp_path, visibility="unlisted", language="fr")
    adapter.publish(OutgoingPost(parts=("Bonjour",)), "opt:1")
    form = server.status_forms()[-1]
    assert form["visibility"] == ["unlisted"] and form["language"] == ["fr"]
    assert "spoiler_text" not in form
    voice = {"visibility": "private", "spoiler_text": "Promotion", "language": "en"}
    adapter.publish(OutgoingPost(parts=("Hello",), meta=voice), "opt:2")
    form = server.status_forms()[-1]
    assert form["visibility"] == ["private"] and form["spoiler_text"] == ["Promotion"]
    assert form["language"] == ["en"]
    bad = OutgoingPost(parts=("Hello",), meta={"visibility": "friends"})
    assert "visibility 'friends'" in (adapter.preflight(bad) or "")
    with pytest.raises(PermanentError):
        adapter.publish(bad, "opt:3")


def test_the_content_warning_counts_against_the_limit(server: FakeMastodon, tmp_path: Path) -> None:
    adapter = make_mastodon(server, tmp_path, spoiler_text="Long warning " * 10)
    assert adapter.rules.count("x" * 380) == 380 + 130
    assert not adapter.rules.fits("x" * 380)  # the account's warning is in the count
    meta = {"spoiler_text": "w" * 200}
    problem = make_mastodon(server, tmp_path).preflight(OutgoingPost(("x" * 400,), meta=meta))
    assert problem is not None and "content warning" in problem


def test_a_missing_scope_pauses_the_account(server: FakeMastodon, tmp_path: Path) -> None:
    server.script.append(mastodon_error(403, "This action is outside the authorized scopes"))
    with pytest.raises(AuthError, match="scope"):
        make_mastodon(server, tmp_path).publish(OutgoingPost(parts=("Hi",)), "scope:1")


def test_reconcile_finds_the_status_in_html_and_says_when_it_is_not_there(
    server: FakeMastodon, tmp_path: Path
) -> None:
    adapter = make_mastodon(server, tmp_path)
    text = "Merci @camille@bakers.example!\n\nRead https://acme.example/blog/2026/12/long-article"
    post = OutgoingPost(parts=(text,))
    assert adapter.reconcile(post, "rec:1") is None  # certainly not there
    server.plan = FaultPlan(at={1: "lost"})  # stored, then the answer is lost
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post, "rec:1")
    found = make_mastodon(server, tmp_path).reconcile(post, "rec:1")
    assert found is not None and found.remote_id == server.statuses[0]["id"]
    assert found.url == server.statuses[0]["url"]


def test_the_first_comment_is_a_reply_sent_once_under_its_key(server, tmp_path) -> None:
    mastodon = make_mastodon(server, tmp_path, visibility="unlisted")
    receipt = mastodon.publish(OutgoingPost(parts=("Fresh bread",)), "k")
    comment = mastodon.comment(receipt, "Order: https://acme.example/order", "k#comment")
    reply = server.status_forms()[-1]
    assert reply["status"] == ["Order: https://acme.example/order"]
    assert reply["in_reply_to_id"] == [receipt.remote_id]
    assert reply["visibility"] == ["unlisted"]  # the account's, like its posts
    assert server.requests[-1]["headers"]["Idempotency-Key"] == "k#comment"
    assert comment.url == server.statuses[0]["url"]
    again = mastodon.comment(receipt, "Order: https://acme.example/order", "k#comment")
    assert again == comment and len(server.statuses) == 2  # the key: one reply, not two


def test_a_reply_to_a_status_that_is_gone_is_refused(server, tmp_path) -> None:
    mastodon = make_mastodon(server, tmp_path)
    gone = Receipt("4242", "https://social.example/@acme/4242")
    with pytest.raises(PermanentError, match="does not appear to exist"):
        mastodon.comment(gone, "Order now", "k#comment")
    assert mastodon.comment_rules.limit == 500  # the instance's own limit, as for posts


def test_measure_reads_each_status_counts_and_skips_a_deleted_one(server, tmp_path) -> None:
    mastodon = make_mastodon(server, tmp_path)
    thread = mastodon.publish(OutgoingPost(parts=("Fresh bread", "More")), "k")
    first, second = thread.parts
    assert first == thread.remote_id
    status = next(s for s in server.statuses if s["id"] == first)
    status.update(favourites_count=12, reblogs_count=4, replies_count=2)
    server.statuses = [s for s in server.statuses if s["id"] != second]  # deleted since
    found = mastodon.measure([first, second])
    assert found == {first: Engagement(likes=12, reposts=4, replies=2)}
    assert found[first].impressions is None  # Mastodon counts no views: missing, not 0
    paths = [r["path"] for r in server.requests[-2:]]
    assert paths == [f"/api/v1/statuses/{first}", f"/api/v1/statuses/{second}"]

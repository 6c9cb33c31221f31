"""The Threads adapter through its real HTTP code, against a stand-in of graph.threads.net."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crosspost_threads.counting import RULES, threads_length
from fakethreads import TOKEN, FakeThreads, make_threads, meta_length

from crosspost.adapter import (
    AuthError,
    Engagement,
    Image,
    KeepsCredentials,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PermanentError,
    RateLimited,
    TransientError,
)
from crosspost.testing.contract import publish_all_steps
from crosspost.testing.faults import FaultPlan


@pytest.fixture
def server() -> Iterator[FakeThreads]:
    fake = FakeThreads()
    yield fake
    fake.close()


def _image(tmp: Path, name: str, alt: str) -> Image:
    path = tmp / "img" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0" + name.encode())
    return Image(path, alt, "jpeg", path.stat().st_size)


def test_emoji_count_as_their_utf8_bytes_as_meta_documents() -> None:
    assert threads_length("👍") == 4
    assert threads_length("👍🏽") == 8
    assert threads_length("👨‍👩‍👧‍👦") == 25
    assert threads_length("Crème brûlée") == 12  # accented letters are one character each
    for text in ("Pain 🍞 au levain 🇫🇷", "a" * 499 + "é", "🍮" * 125, "x 👍🏽 y"):
        assert threads_length(text) == meta_length(text)
    assert RULES.fits("👍" * 125) and not RULES.fits("👍" * 126)


def test_a_thread_is_published_as_replies_with_the_link_attached(
    server: FakeThreads, tmp_path: Path
) -> None:
    post = OutgoingPost(parts=("One", "Two", "Three"), link="https://acme.example/winter")
    receipt = make_threads(server, tmp_path).publish(post, "thread:1")
    first, second, third = reversed(server.posts)
    assert [p["text"] for p in (first, second, third)] == ["One", "Two", "Three"]
    assert first["reply_to_id"] is None
    assert second["reply_to_id"] == first["id"] and third["reply_to_id"] == second["id"]
    assert first["link_attachment_url"] == "https://acme.example/winter"
    assert second["link_attachment_url"] is None
    assert receipt.remote_id == first["id"] and receipt.url == first["permalink"]


def test_images_become_a_carousel_with_alt_texts_from_public_urls(
    server: FakeThreads, tmp_path: Path
) -> None:
    images = (_image(tmp_path, "rye.jpg", "A rye loaf"), _image(tmp_path, "bun.jpg", "A bun"))
    post = OutgoingPost(parts=("Two breads",), images=images)
    waits: list[timedelta] = []
    publish_all_steps(make_threads(server, tmp_path), post, "carousel:1", waits.append)
    assert waits  # Meta processed the images while the lane was free
    [published] = server.posts
    carousel = server.container_of(published["id"])
    assert carousel["media_type"] == "CAROUSEL"
    children = [server.containers[c] for c in carousel["children"].split(",")]
    assert [(c["image_url"], c["alt_text"], c["is_carousel_item"]) for c in children] == [
        ("https://acme.example/media/img/rye.jpg", "A rye loaf", "true"),
        ("https://acme.example/media/img/bun.jpg", "A bun", "true"),
    ]


def test_a_restart_during_processing_publishes_the_recorded_container_once(
    tmp_path: Path,
) -> None:
    server = FakeThreads(processing_checks=3)
    try:
        post = OutgoingPost(parts=("Rye",), images=(_image(tmp_path, "rye.jpg", "A loaf"),))
        with pytest.raises(Pending) as step:
            make_threads(server, tmp_path).publish(post, "resume:1")
        recorded = step.value.progress["container"]
        restarted = make_threads(server, tmp_path)  # a new process, the progress from the row
        receipt = publish_all_steps(
            restarted, replace(post, progress=step.value.progress), "resume:1"
        )
        assert len(server.containers) == 1 and len(server.posts) == 1
        assert server.container_of(receipt.remote_id) is server.containers[recorded]
    finally:
        server.close()


def test_an_image_meta_cannot_fetch_fails_with_its_reason(
    server: FakeThreads, tmp_path: Path
) -> None:
    post = OutgoingPost(parts=("Rye",), images=(_image(tmp_path, "r.jpg", ""),))
    adapter = make_threads(server, tmp_path, media_base_url="https://unreachable.example/m")
    with pytest.raises(PermanentError, match="FAILED_DOWNLOADING_IMAGE"):
        publish_all_steps(adapter, post, "error:1")
    assert server.posts == []


def test_the_daily_quota_is_a_rate_limit_before_any_container(tmp_path: Path) -> None:
    server = FakeThreads(quota_usage=250)
    try:
        with pytest.raises(RateLimited, match="250 posts in 24 hours") as info:
            make_threads(server, tmp_path).publish(OutgoingPost(parts=("Hi",)), "quota:1")
        assert info.value.retry_after == timedelta(hours=1)
        assert server.containers == {}
    finally:
        server.close()


def test_a_thread_broken_midway_resumes_at_the_missing_part(
    server: FakeThreads, tmp_path: Path
) -> None:
    post = OutgoingPost(parts=("One", "Two", "Three"))
    adapter = make_threads(server, tmp_path)
    original = server.respond

    def failing_second_container(request, scripted):  # type: ignore[no-untyped-def]
        making = request["method"] == "POST" and request["path"].endswith("/threads")
        if making and len(server.posts) == 1:
            return server.error_answer()  # Meta fails while the second part is made
        return original(request, scripted)

    server.respond = failing_second_container  # type: ignore[method-assign]
    with pytest.raises(TransientError):
        adapter.publish(post, "broken:1")
    server.respond = original  # type: ignore[method-assign]
    receipt = make_threads(server, tmp_path).publish(post, "broken:1")
    texts = [p["text"] for p in reversed(server.posts)]
    assert texts == ["One", "Two", "Three"]  # "One" was not posted twice
    assert receipt.remote_id == server.posts[-1]["id"]


def test_a_lost_publish_answer_is_found_by_reconcile_and_never_posted_twice(
    server: FakeThreads, tmp_path: Path
) -> None:
    adapter = make_threads(server, tmp_path)
    post = OutgoingPost(parts=("Lost answer",))
    server.plan = FaultPlan(at={1: "lost"})  # published, then the answer is lost
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post, "lost:1")
    assert len(server.posts) == 1  # Threads published it
    found = make_threads(server, tmp_path).reconcile(post, "lost:1")
    assert found is not None and found.remote_id == server.posts[0]["id"]
    assert (
        make_threads(server, tmp_path).reconcile(OutgoingPost(parts=("Never sent",)), "n:1") is None
    )


def test_a_container_already_published_is_an_unknown_outcome_not_a_second_post(
    server: FakeThreads, tmp_path: Path
) -> None:
    post = OutgoingPost(parts=("Rye",), images=(_image(tmp_path, "rye.jpg", "A loaf"),))
    adapter = make_threads(server, tmp_path)
    with pytest.raises(Pending) as step:
        adapter.publish(post, "twice:1")
    publish_all_steps(adapter, replace(post, progress=step.value.progress), "twice:1")
    with pytest.raises(OutcomeUnknown, match="already published"):
        adapter.publish(replace(post, progress=step.value.progress), "twice:1")
    assert len(server.posts) == 1


def test_more_than_five_links_is_refused_before_sending(
    server: FakeThreads, tmp_path: Path
) -> None:
    text = " ".join(f"https://acme.example/{n}" for n in range(6))
    adapter = make_threads(server, tmp_path)
    assert "at most 5" in (adapter.preflight(OutgoingPost(parts=(text,))) or "")
    with pytest.raises(PermanentError):
        adapter.publish(OutgoingPost(parts=(text,)), "links:1")
    assert server.requests == []


def test_the_token_is_refreshed_when_30_days_are_left_and_kept_in_the_state_dir(
    server: FakeThreads, tmp_path: Path
) -> None:
    adapter = make_threads(server, tmp_path)
    assert isinstance(adapter, KeepsCredentials)
    now = datetime(2026, 12, 2, 9, tzinfo=UTC)
    until = adapter.keep_credentials(now)  # a secrets-file token of unknown age: refreshed
    assert until == now + timedelta(seconds=5183944)
    kept = tmp_path / "state" / "threads" / "acme_threads" / "token.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    new_token = json.loads(kept.read_text())["access_token"]
    server.tokens.discard(TOKEN)  # Meta's refresh leaves the old token; prove the new is used
    make_threads(server, tmp_path).publish(OutgoingPost(parts=("With the new token",)), "t:1")
    assert server.requests[-1]["headers"]["Authorization"] == f"Bearer {new_token}"
    refreshes = lambda: sum(r["path"].startswith("/refresh_access_token") for r in server.requests)  # noqa: E731
    assert adapter.keep_credentials(now + timedelta(days=29)) == until and refreshes() == 1
    adapter.keep_credentials(now + timedelta(days=31))  # 29 days left: refreshed again
    assert refreshes() == 2
    assert new_token not in kept.read_text()


def test_a_revoked_token_pauses_the_account(server: FakeThreads, tmp_path: Path) -> None:
    server.tokens.clear()
    with pytest.raises(AuthError, match="code 190"):
        make_threads(server, tmp_path).publish(OutgoingPost(parts=("Hi",)), "auth:1")
    with pytest.raises(AuthError):
        make_threads(server, tmp_path).keep_credentials(datetime.now(UTC))


def test_auth_exchanges_the_code_for_a_long_lived_token(
    server: FakeThreads, tmp_path: Path
) -> None:
    from crosspost_threads import ThreadsAdapter

    from crosspost.adapter import account_for

    account = account_for(
        ThreadsAdapter,
        "acme_threads",
        {"api_base_url": server.url},
        {"client_id": "1234", "client_secret": "app-SECRET-9"},
        tmp_path,
        tmp_path / "state",
    )
    flow = ThreadsAdapter.oauth_flow(account)
    url = flow.authorization_url("http://localhost:8910/callback", "st4te")
    assert url.startswith("https://threads.net/oauth/authorize?")
    assert "scope=threads_basic%2Cthreads_content_publish" in url and "state=st4te" in url
    tokens = flow.exchange("the-code", "http://localhost:8910/callback")
    assert tokens.secrets["access_token"] == TOKEN
    expires = tokens.expires_at["access_token"] - datetime.now(UTC)
    assert timedelta(days=59) < expires < timedelta(days=61)


def test_a_published_container_whose_post_is_not_listed_is_left_to_a_person(
    server: FakeThreads, tmp_path: Path
) -> None:
    post = OutgoingPost(parts=("Rye",), images=(_image(tmp_path, "rye.jpg", "A loaf"),))
    adapter = make_threads(server, tmp_path)
    with pytest.raises(Pending) as step:
        adapter.publish(post, "hidden:1")
    progressed = replace(post, progress=step.value.progress)
    assert adapter.reconcile(progressed, "hidden:1") is None  # not published: send it
    publish_all_steps(adapter, progressed, "hidden:1")
    server.posts.clear()  # published, but the profile no longer lists it (deleted, or old)
    with pytest.raises(TransientError, match="is published, but no recent post"):
        adapter.reconcile(progressed, "hidden:1")


def test_the_first_comment_is_a_text_reply_published_at_once(server, tmp_path) -> None:
    threads = make_threads(server, tmp_path)
    receipt = publish_all_steps(threads, OutgoingPost(parts=("Fresh bread", "More")), "k")
    comment = threads.comment(receipt, "Order: https://acme.example/order", "k#comment")
    reply = server.container_of(comment.remote_id)
    assert reply["reply_to_id"] == receipt.remote_id  # under the post, not its last part
    assert reply["media_type"] == "TEXT" and reply["text"] == "Order: https://acme.example/order"
    assert comment.url.startswith("https://www.threads.net/")
    assert len(server.posts) == 3


def test_a_reply_without_the_permission_or_not_ready_is_reported(server, tmp_path) -> None:
    threads = make_threads(server, tmp_path)
    receipt = publish_all_steps(threads, OutgoingPost(parts=("Fresh bread",)), "k")
    server.can_reply = False
    with pytest.raises(PermanentError, match="code 10"):
        threads.comment(receipt, "Order now", "k#comment")
    server.can_reply = True
    answers = [(200, {}, {"id": "c1"}, 0), (200, {}, {"status": "IN_PROGRESS"}, 0)]
    server.script = answers
    with pytest.raises(TransientError, match="still processing the reply"):
        threads.comment(receipt, "Order now", "k#comment")
    assert len(server.posts) == 1  # nothing published: the retry makes a new one


def test_measure_reads_each_posts_insights_and_sums_reposts(server, tmp_path) -> None:
    threads = make_threads(server, tmp_path)
    receipt = publish_all_steps(threads, OutgoingPost(parts=("Fresh bread", "More")), "k")
    first, second = receipt.parts
    server.insights[first] = {"views": 800, "likes": 25, "replies": 4, "reposts": 2,
                              "quotes": 1, "shares": 3}  # fmt: skip
    server.posts = [p for p in server.posts if p["id"] != second]  # deleted since
    found = threads.measure([first, second])
    assert found == {first: Engagement(likes=25, reposts=6, replies=4, impressions=800)}
    assert found[first].saves is None
    server.can_read_insights = False
    with pytest.raises(PermanentError, match="code 10"):
        threads.measure([first])

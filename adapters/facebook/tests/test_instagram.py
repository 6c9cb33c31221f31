"""The Instagram adapter against a local Graph API stand-in: containers, the wait, publish."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from crosspost_facebook import FacebookPageAdapter, InstagramAdapter
from fakemeta import FakeInstagram, FakeTime

from crosspost.adapter import (
    Engagement,
    OutcomeUnknown,
    OutgoingPost,
    Pending,
    PermanentError,
    RateLimited,
    Receipt,
    TransientError,
    account_for,
    construct,
)
from crosspost.render.fitting import NotPublishable, fit
from crosspost.sources.calendar import Image
from crosspost.testing.contract import publish_all_steps

CLOCK = FakeTime()  # the adapter's wall clock, moved by each wait the core would make


@pytest.fixture
def graph() -> Iterator[FakeInstagram]:
    fake = FakeInstagram()
    yield fake
    fake.close()


def instagram(graph: FakeInstagram, tmp: Path, **extra: Any) -> InstagramAdapter:
    settings = {
        "ig_user_id": "178",
        "api_base_url": graph.url,
        "media_base_url": "https://acme.example/media",
        **extra,
    }
    token = {"page_access_token": "EAAsecret"}
    adapter = construct(InstagramAdapter, "ig", settings, token, tmp, tmp / "state")
    assert isinstance(adapter, InstagramAdapter)
    adapter.clock = CLOCK.now
    return adapter


def publish(adapter: InstagramAdapter, post: OutgoingPost) -> Receipt:
    """Every step, as the core makes them, the clock moved by each wait."""
    return publish_all_steps(adapter, post, "k", waited=CLOCK.advance)


def picture(tmp: Path, name: str = "img/bread.jpg") -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff")
    return path


def test_one_image_container_wait_then_publish(graph, tmp_path) -> None:
    graph.statuses = ["IN_PROGRESS", "IN_PROGRESS"]
    post = OutgoingPost(
        parts=("Fresh bread #bakery",), images=(Image(picture(tmp_path), "Loaves"),)
    )
    receipt = publish(instagram(graph, tmp_path), post)
    container = graph.forms("/v23.0/178/media")[0]
    assert container == {
        "image_url": "https://acme.example/media/img/bread.jpg",
        "caption": "Fresh bread #bakery",
        "alt_text": "Loaves",
    }
    polls = [r for r in graph.requests if "status_code" in r["path"]]
    assert len(polls) == 3  # twice IN_PROGRESS, then FINISHED
    assert graph.forms("/v23.0/178/media_publish") == [{"creation_id": "c1"}]
    assert receipt.url == "https://www.instagram.com/p/ABC123/"
    assert graph.requests[0]["headers"]["Authorization"] == "Bearer EAAsecret"


def test_several_images_make_a_carousel(graph, tmp_path) -> None:
    images = tuple(Image(picture(tmp_path, f"img/{n}.jpg"), "") for n in ("a", "b"))
    publish(instagram(graph, tmp_path), OutgoingPost(parts=("Two",), images=images))
    creates = [f for f in graph.forms("/v23.0/178/media") if "creation_id" not in f]
    assert creates[0] == {
        "image_url": "https://acme.example/media/img/a.jpg",
        "is_carousel_item": "true",
    }
    assert creates[2] == {"media_type": "CAROUSEL", "children": "c1,c2", "caption": "Two"}


def test_a_blog_item_uses_its_image_url(graph, tmp_path) -> None:
    post = OutgoingPost(parts=("New article",), meta={"image_url": "https://blog.example/i.png"})
    publish(instagram(graph, tmp_path), post)
    assert graph.forms("/v23.0/178/media")[0]["image_url"] == "https://blog.example/i.png"


def test_each_step_is_handed_to_the_core_and_nothing_waits_here(graph, tmp_path) -> None:
    """Made, then Pending while Instagram processes; past container_wait a transient error,
    and the core's retry (later, with the recorded progress) publishes the same container."""
    ig = instagram(graph, tmp_path, container_wait=5)  # asks every 2 s: at 2 and 4, then no
    graph.statuses = ["IN_PROGRESS"] * 2
    post = OutgoingPost(parts=("x",), images=(Image(picture(tmp_path), ""),))
    with pytest.raises(Pending) as made:
        ig.publish(post, "k")
    assert made.value.progress["container"] == "c1" and made.value.after == timedelta(seconds=2)
    resumed = replace(post, progress=made.value.progress)
    CLOCK.advance(made.value.after)
    with pytest.raises(Pending, match="processing"):
        ig.publish(resumed, "k")
    CLOCK.advance(timedelta(seconds=2))
    with pytest.raises(TransientError, match="still processing the media after 5 s"):
        ig.publish(resumed, "k")
    CLOCK.advance(timedelta(minutes=1))  # the core's backoff
    receipt = ig.publish(resumed, "k")
    assert len([f for f in graph.forms("/v23.0/178/media") if "image_url" in f]) == 1
    assert graph.forms("/v23.0/178/media_publish") == [{"creation_id": "c1"}]
    assert receipt.remote_id and receipt.url


def test_reconcile_asks_the_recorded_container_first(graph, tmp_path) -> None:
    """After a crash: no such caption and a container not PUBLISHED say for certain the post
    is not out; a PUBLISHED container whose media is not listed cannot be settled here."""
    post = OutgoingPost(parts=("Hello",), progress={"container": "c9", "since": "0"})
    graph.script = [(200, {}, {"data": []}, 0), (200, {}, {"status_code": "FINISHED"}, 0)]
    assert instagram(graph, tmp_path).reconcile(post, "k") is None
    assert [r["path"].split("?")[0] for r in graph.requests] == ["/v23.0/178/media", "/v23.0/c9"]
    recent = {"data": [{"id": "5", "caption": "Hello", "permalink": "https://i.example/p/Z/"}]}
    graph.script = [(200, {}, recent, 0)]
    found = instagram(graph, tmp_path).reconcile(post, "k")
    assert found is not None and found.remote_id == "5"
    graph.script = [(200, {}, {"data": []}, 0), (200, {}, {"status_code": "PUBLISHED"}, 0)]
    with pytest.raises(TransientError, match="c9 is published, but no recent media"):
        instagram(graph, tmp_path).reconcile(post, "k")


def test_a_failed_container_is_a_permanent_error(graph, tmp_path) -> None:
    graph.statuses = ["ERROR"]
    post = OutgoingPost(parts=("x",), images=(Image(picture(tmp_path), ""),))
    with pytest.raises(PermanentError, match="is every image URL public"):
        publish(instagram(graph, tmp_path), post)
    assert graph.forms("/v23.0/178/media_publish") == []


def test_local_images_need_media_base_url_and_must_be_under_media_root(graph, tmp_path) -> None:
    post = OutgoingPost(parts=("x",), images=(Image(picture(tmp_path), ""),))
    with pytest.raises(PermanentError, match="set media_base_url"):
        publish(instagram(graph, tmp_path, media_base_url=""), post)
    with pytest.raises(PermanentError, match="not under media_root"):
        publish(instagram(graph, tmp_path, media_root="public"), post)
    assert graph.requests == []


def test_the_daily_publishing_limit_is_a_rate_limit(graph, tmp_path) -> None:
    error = {
        "error": {
            "message": "Application request limit reached",
            "code": 9,
            "error_subcode": 2207042,
        }
    }
    graph.script = [
        (200, {}, {"id": "c1"}, 0),
        (200, {}, {"status_code": "FINISHED"}, 0),
        (400, {}, error, 0),
    ]
    post = OutgoingPost(parts=("x",), images=(Image(picture(tmp_path), ""),))
    with pytest.raises(RateLimited):
        publish(instagram(graph, tmp_path), post)


def test_no_answer_to_media_publish_is_an_unknown_outcome(graph, tmp_path) -> None:
    graph.script = [
        (200, {}, {"id": "c1"}, 0),
        (200, {}, {"status_code": "FINISHED"}, 0),
        (200, {}, {"id": "1"}, 2),
    ]
    post = OutgoingPost(parts=("x",), images=(Image(picture(tmp_path), ""),))
    with pytest.raises(OutcomeUnknown):
        publish(instagram(graph, tmp_path, timeout=0.3), post)


def test_verify_and_reconcile(graph, tmp_path) -> None:
    assert instagram(graph, tmp_path).verify().handle == "@acmebakery"
    recent = {
        "data": [{"id": "5", "caption": "Hello", "permalink": "https://www.instagram.com/p/Z/"}]
    }
    graph.script = [(200, {}, recent, 0), (200, {}, recent, 0)]
    found = instagram(graph, tmp_path).reconcile(OutgoingPost(parts=("Hello",)), "k")
    assert found is not None and found.url == "https://www.instagram.com/p/Z/"
    assert instagram(graph, tmp_path).reconcile(OutgoingPost(parts=("Other",)), "k") is None


def test_history_gets_the_permalink_asked_after_publishing(graph, tmp_path) -> None:
    post = OutgoingPost(parts=("Bread",), images=(Image(picture(tmp_path), "Loaves"),))
    graph.statuses = []
    receipt = publish(instagram(graph, tmp_path), post)
    asked = [r["path"] for r in graph.requests if "fields=permalink" in r["path"]]
    assert asked == ["/v23.0/17903?fields=permalink"]  # the published media, not the container
    assert receipt.url == "https://www.instagram.com/p/ABC123/" and receipt.warning == ""


def test_a_permalink_that_cannot_be_read_is_asked_again_then_reported(graph, tmp_path) -> None:
    post = OutgoingPost(parts=("Bread",), images=(Image(picture(tmp_path), "Loaves"),))
    publish_answers = [(200, {}, {"id": "c1"}, 0), (200, {}, {"status_code": "FINISHED"}, 0)]
    graph.script = [
        *publish_answers,
        (200, {}, {"id": "1790"}, 0),
        (500, {}, {}, 0),
        (500, {}, {}, 0),
    ]
    receipt = publish(instagram(graph, tmp_path), post)
    assert receipt.remote_id == "1790"
    assert receipt.url == ""  # never the Instagram home page passed off as the post
    assert (
        "published as Instagram media 1790, but its permalink could not be read" in receipt.warning
    )


def test_check_names_an_instagram_account_without_media_base_url(tmp_path, capsys) -> None:
    from crosspost.cli.main import main

    picture(tmp_path, "bread.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 64)
    (tmp_path / "crosspost.toml").write_text(
        '[daemon]\ncalendars = ["calendar.toml"]\nsecrets = "secrets.toml"\n'
        '[accounts.ig]\nnetwork = "instagram"\nig_user_id = "178"\n'
    )
    (tmp_path / "secrets.toml").write_text('[accounts.ig]\npage_access_token = "EAAx"\n')
    (tmp_path / "secrets.toml").chmod(0o600)
    (tmp_path / "calendar.toml").write_text(
        '[[post]]\nid = "bread"\nat = 2030-01-07T09:00:00\naccounts = ["ig"]\ntext = "Bread"\n'
        'images = [{ path = "bread.jpg", alt = "Loaves" }]\n'
    )
    assert main(["-c", str(tmp_path / "crosspost.toml"), "check"]) == 1
    out = capsys.readouterr().out
    assert (
        f"{tmp_path / 'calendar.toml'}:2: [post.text] error: for account 'ig': set media_base_url"
        in out
    )


def test_check_knows_the_caption_rules_before_anything_is_sent() -> None:
    rules = InstagramAdapter.rules
    with pytest.raises(NotPublishable, match="without an image"):
        fit("Hello", rules, "reject", images=0)
    tags = " ".join(f"#tag{n}x" for n in range(31))
    with pytest.raises(NotPublishable, match="31 hashtags; the network takes at most 30"):
        fit(tags, rules, "reject", images=1)
    mentions = " ".join(f"@friend{n}" for n in range(21))
    with pytest.raises(NotPublishable, match="21 @mentions"):
        fit(mentions, rules, "reject", images=1)
    assert fit(" ".join(f"#tag{n}x" for n in range(30)), rules, "reject", images=1)
    assert len(fit("word " * 600, rules, "truncate", images=1)[0]) <= 2200


def test_auth_turns_the_code_into_the_token_of_the_linked_page(graph, tmp_path) -> None:
    pages = {
        "data": [
            {"id": "111", "name": "Other", "access_token": "EAA-other"},
            {
                "id": "123",
                "name": "Acme Bakery",
                "access_token": "EAA-page",
                "instagram_business_account": {"id": "178"},
            },
        ]
    }
    graph.script = [
        (200, {}, {"access_token": "short-user", "expires_in": 3600}, 0),
        (200, {}, {"access_token": "long-user", "expires_in": 5183944}, 0),
        (200, {}, pages, 0),
    ]
    settings = {"ig_user_id": "178", "api_base_url": graph.url}
    secrets = {"client_id": "app-1", "client_secret": "app-secret"}
    flow = InstagramAdapter.oauth_flow(
        account_for(InstagramAdapter, "ig", settings, secrets, Path("."), Path("."))
    )
    url = flow.authorization_url("http://localhost:8910/callback", "s1")
    assert url.startswith("https://www.facebook.com/v23.0/dialog/oauth?")
    assert "instagram_content_publish" in dict(parse_qsl(url.split("?")[1]))["scope"]
    tokens = flow.exchange("the-code", "http://localhost:8910/callback")
    assert tokens.secrets == {"page_access_token": "EAA-page"} and tokens.expires_at == {}
    short, long, accounts = graph.requests
    assert dict(parse_qsl(short["path"].split("?")[1]))["code"] == "the-code"
    assert dict(parse_qsl(long["path"].split("?")[1]))["fb_exchange_token"] == "short-user"
    assert accounts["headers"]["Authorization"] == "Bearer long-user"


def test_auth_names_the_pages_when_the_account_is_not_among_them(graph) -> None:
    pages = {"data": [{"id": "111", "name": "Other", "access_token": "EAA-other"}]}
    graph.script = [(200, {}, {"access_token": "a"}, 0), (200, {}, {"access_token": "b"}, 0)]
    graph.script.append((200, {}, pages, 0))
    settings = {"page_id": "123", "api_base_url": graph.url}
    secrets = {"client_id": "1", "client_secret": "2"}
    flow = FacebookPageAdapter.oauth_flow(
        account_for(FacebookPageAdapter, "fb", settings, secrets, Path("."), Path("."))
    )
    with pytest.raises(
        PermanentError, match=r"manages no Page 123; pages they manage: Other \(111\)"
    ):
        flow.exchange("code", "http://localhost:8910/callback")


def test_the_first_comment_goes_under_the_published_media(graph, tmp_path) -> None:
    adapter = instagram(graph, tmp_path)
    post = OutgoingPost(parts=("Bread",), images=(Image(picture(tmp_path), "Loaves"),))
    receipt = publish(adapter, post)
    comment = adapter.comment(receipt, "#bread #rye more tags here", "k#comment")
    request = graph.requests[-1]
    assert request["path"] == f"/v23.0/{receipt.remote_id}/comments"
    assert dict(parse_qsl(request["body"].decode())) == {"message": "#bread #rye more tags here"}
    assert graph.comments_on() == {receipt.remote_id: ["#bread #rye more tags here"]}
    assert comment.url == receipt.url  # it is read on the post's page
    graph.comment_permission = False  # the token lacks instagram_manage_comments
    with pytest.raises(PermanentError, match=r"code 10: .*missing permission"):
        adapter.comment(receipt, "again", "k#comment")


def test_a_comment_has_the_captions_hashtag_limit() -> None:
    rules = InstagramAdapter.comment_rules
    assert rules.limit == 2200 and rules.max_hashtags == 30 and not rules.needs_image


def test_measure_reads_likes_comments_and_insights_of_each_media(graph, tmp_path) -> None:
    adapter = instagram(graph, tmp_path)
    post = OutgoingPost(parts=("Bread",), images=(Image(picture(tmp_path), "Loaves"),))
    media = publish(adapter, post).remote_id
    graph.numbers()[media] = {"like_count": 40, "comments_count": 6,
                              "insights": {"views": 1200, "saved": 9, "shares": 4}}  # fmt: skip
    found = adapter.measure([media])
    assert found == {media: Engagement(likes=40, reposts=4, replies=6, impressions=1200, saves=9)}
    insight = graph.requests[-1]["path"]
    assert insight.startswith(f"/v23.0/{media}/insights?metric=views%2Csaved%2Cshares")
    graph.insights_permission = False  # no instagram_manage_insights: counts only
    assert adapter.measure([media]) == {media: Engagement(likes=40, replies=6)}

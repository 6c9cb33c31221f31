"""The LinkedIn adapter against a local HTTP server: request shape, escaping, errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from crosspost_linkedin import LinkedInAdapter, escape, to_plain
from fakelinkedin import FakeLinkedIn, stored_text

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
def linkedin() -> Iterator[FakeLinkedIn]:
    fake = FakeLinkedIn()
    yield fake
    fake.close()


def adapter(
    fake: FakeLinkedIn, author: str = "urn:li:organization:42", **extra: Any
) -> LinkedInAdapter:
    settings = {"author": author, "api_base_url": fake.url, **extra}
    built = construct(
        LinkedInAdapter, "li", settings, {"access_token": "tok-123456"}, Path("."), Path(".")
    )
    assert isinstance(built, LinkedInAdapter)
    return built


def test_publish_sends_a_well_formed_post_and_returns_its_url(linkedin) -> None:
    receipt = adapter(linkedin).publish(
        OutgoingPost(parts=("Winter hours (new)",), link="https://acme.example/h", title="Hours"),
        "k1",
    )
    assert receipt.remote_id == "urn:li:share:7001"
    assert receipt.url == "https://www.linkedin.com/feed/update/urn:li:share:7001/"
    assert receipt.warning == ""
    [request] = [r for r in linkedin.requests if r["path"] == "/rest/posts"]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == "Bearer tok-123456"
    assert headers["x-restli-protocol-version"] == "2.0.0"
    assert headers["linkedin-version"] == "202610"
    [body] = linkedin.posts()
    assert body["author"] == "urn:li:organization:42"
    assert body["commentary"] == "Winter hours \\(new\\)"
    assert body["content"] == {"article": {"source": "https://acme.example/h", "title": "Hours"}}
    assert body["visibility"] == "PUBLIC" and body["lifecycleState"] == "PUBLISHED"


def test_every_reserved_character_is_escaped() -> None:
    # design.md and the issue say 14; the list itself (backslash, vertical bar and
    # { } @ [ ] ( ) < > # * _ ~) has 15, and all 15 are reserved in LinkedIn's docs.
    reserved = "\\|{}@[]()<>#*_~"
    assert len(reserved) == 15
    escaped = escape(f"a {reserved} b")
    assert escaped == "a " + "".join("\\" + c for c in reserved) + " b"


def test_links_are_escaped_and_hashtags_stay_templates_with_escaped_text() -> None:
    text = "See https://acme.example/a_b?x=1 now #SmallBusiness, (c) #tag_2026"
    assert escape(text) == (
        "See https://acme.example/a\\_b?x=1 now {hashtag|\\#|SmallBusiness}, \\(c\\) "
        "{hashtag|\\#|tag\\_2026}"
    )
    assert to_plain(escape(text)) == text


def test_a_mention_element_is_kept_with_its_name_escaped() -> None:
    text = "Thanks @[Acme_Bakery](urn:li:organization:1234) and @bob"
    assert escape(text) == ("Thanks @[Acme\\_Bakery](urn:li:organization:1234) and \\@bob")


def test_the_stand_in_cuts_like_linkedin_at_an_unescaped_reserved_character() -> None:
    # What LinkedIn's docs say happens to text that is not escaped: kept up to the character.
    assert stored_text("Hello (world)") == "Hello "
    assert stored_text("see https://x.example/?utm_source=li") == "see https://x.example/?utm"
    assert stored_text("{hashtag|#|tag_x} rest") == ""  # an unescaped _ voids the template
    assert stored_text("{hashtag|\\#|tag\\_x} \\(ok\\)") == "{hashtag|\\#|tag\\_x} \\(ok\\)"


@pytest.mark.parametrize(
    "text",
    [
        "Winter hours https://acme.example/hours?utm_source=linkedin&utm_medium=social",
        "#tag_with_underscore opens the post",
        "Links with (brackets) https://en.wikipedia.org/wiki/Bread_(food) and [1] ~ok~",
        "Ask @[Acme_Bakery](urn:li:organization:1234) about *fresh* <bread> | 100%",
        "a \\ backslash, {braces} and C# code",
    ],
)
def test_linkedin_stores_every_character_that_was_sent(linkedin, text) -> None:
    receipt = adapter(linkedin).publish(OutgoingPost(parts=(text,)), "k")
    stored = linkedin.stored[receipt.remote_id]["commentary"]
    assert to_plain(stored) == to_plain(escape(text))
    assert stored == escape(text)  # nothing was cut
    assert receipt.warning == ""


def test_a_text_linkedin_cut_is_reported_not_taken_for_a_success(linkedin) -> None:
    linkedin.script = [
        (201, {"x-restli-id": "urn:li:share:9"}, None, 0),
        (200, {}, {"id": "urn:li:share:9", "commentary": "Winter hours "}, 0),
    ]
    receipt = adapter(linkedin).publish(OutgoingPost(parts=("Winter hours (new)",)), "k")
    assert receipt.remote_id == "urn:li:share:9"
    assert "LinkedIn stored 13 of the 18 characters" in receipt.warning
    assert linkedin.requests[1]["path"] == "/rest/posts/urn%3Ali%3Ashare%3A9"


def test_a_failed_read_back_does_not_undo_the_publication(linkedin) -> None:
    linkedin.script = [(201, {"x-restli-id": "urn:li:share:9"}, None, 0), (500, {}, {}, 0)]
    receipt = adapter(linkedin).publish(OutgoingPost(parts=("Hello",)), "k")
    assert receipt.remote_id == "urn:li:share:9" and receipt.warning == ""


def test_images_go_through_the_images_api_with_alt_text(linkedin, tmp_path) -> None:
    picture = tmp_path / "shop.jpg"
    picture.write_bytes(b"\xff\xd8\xffjpeg-bytes")
    adapter(linkedin).publish(
        OutgoingPost(parts=("Look",), images=(Image(picture, "Our shop front", "jpeg", 13),)),
        "k2",
    )
    init = json.loads(linkedin.requests[0]["body"])
    assert linkedin.requests[0]["path"] == "/rest/images?action=initializeUpload"
    assert init == {"initializeUploadRequest": {"owner": "urn:li:organization:42"}}
    assert (
        linkedin.requests[1]["method"] == "PUT"
        and linkedin.requests[1]["body"] == b"\xff\xd8\xffjpeg-bytes"
    )
    assert linkedin.posts()[0]["content"] == {
        "media": {"id": "urn:li:image:C7001", "altText": "Our shop front"}
    }


@pytest.mark.parametrize(
    ("status", "headers", "error", "text"),
    [
        (401, {}, AuthError, "token expired"),
        (403, {}, PermanentError, "not allowed"),
        (422, {}, PermanentError, "not allowed"),
        (426, {}, PermanentError, "set a newer `version"),
        (429, {"Retry-After": "120"}, RateLimited, "LinkedIn 429"),
        (503, {}, TransientError, "LinkedIn 503"),
    ],
)
def test_errors_are_classified(linkedin, status, headers, error, text) -> None:
    linkedin.script = [(status, headers, {"message": "not allowed"}, 0)]
    with pytest.raises(error, match=text) as info:
        adapter(linkedin).publish(OutgoingPost(parts=("x",)), "k")
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after == timedelta(seconds=120)
    assert "tok-123456" not in str(info.value)


def test_no_answer_after_sending_is_an_unknown_outcome(linkedin) -> None:
    linkedin.script = [(201, {"x-restli-id": "urn:li:share:1"}, None, 1.0)]
    with pytest.raises(OutcomeUnknown):
        adapter(linkedin, timeout=0.3).publish(OutgoingPost(parts=("x",)), "k")


def test_reconcile_finds_the_post_among_recent_ones(linkedin) -> None:
    post = OutgoingPost(parts=("Hello (world) #tag_1",))
    first = adapter(linkedin).publish(post, "k")
    adapter(linkedin).publish(OutgoingPost(parts=("Another post",)), "k2")
    linkedin.requests.clear()
    found = adapter(linkedin).reconcile(post, "k")
    assert found is not None and found.remote_id == first.remote_id
    assert linkedin.requests[0]["path"].startswith("/rest/posts?q=author&author=urn%3Ali%3A")
    assert adapter(linkedin).reconcile(OutgoingPost(parts=("Never sent",)), "k3") is None


def test_verify_names_the_organization_or_the_member(linkedin) -> None:
    assert adapter(linkedin).verify().handle == "Acme Ltd"
    assert adapter(linkedin, author="urn:li:person:AbC").verify().handle == "Marie Curie"
    assert linkedin.requests[0]["path"] == "/rest/organizations/42"


def test_config_errors_name_the_key() -> None:
    from crosspost.adapter import AdapterConfigError

    with pytest.raises(AdapterConfigError) as info:
        construct(
            LinkedInAdapter, "li", {"author": "acme"}, {"access_token": "t"}, Path("."), Path(".")
        )
    assert info.value.key == "author"
    with pytest.raises(AdapterConfigError, match="no access_token"):
        construct(LinkedInAdapter, "li", {"author": "urn:li:person:x"}, {}, Path("."), Path("."))


def site(linkedin: FakeLinkedIn, tmp_path: Path) -> Path:
    """A config, secrets and calendar with one LinkedIn post due at 09:00."""
    (tmp_path / "crosspost.toml").write_text(
        '[daemon]\ntimezone = "UTC"\ncalendars = ["calendar.toml"]\nsecrets = "secrets.toml"\n'
        f'\n[accounts.li]\nnetwork = "linkedin"\nauthor = "urn:li:person:AbC"\n'
        f'api_base_url = "{linkedin.url}"\n'
    )
    (tmp_path / "secrets.toml").write_text('[accounts.li]\naccess_token = "tok-123456"\n')
    (tmp_path / "secrets.toml").chmod(0o600)
    (tmp_path / "calendar.toml").write_text(
        '[[post]]\nid = "p"\nat = 2026-03-02T09:00:00Z\naccounts = ["li"]\n'
        'text = "Open (as usual) on Monday"\n'
    )
    return tmp_path / "crosspost.toml"


def test_the_daemon_core_publishes_through_linkedin(linkedin, tmp_path) -> None:
    from crosspost import store
    from crosspost.service.runtime import Runtime
    from crosspost.timeutil import ManualClock

    site(linkedin, tmp_path)
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    runtime = Runtime(tmp_path / "crosspost.toml", clock)
    runtime.tick(threading.Event())
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent"
    assert row.remote_url == "https://www.linkedin.com/feed/update/urn:li:share:7001/"
    assert linkedin.posts()[0]["commentary"] == "Open \\(as usual\\) on Monday"


def test_history_shows_what_linkedin_changed(linkedin, tmp_path, capsys) -> None:
    from crosspost import logs
    from crosspost.cli.main import main
    from crosspost.service.runtime import Runtime
    from crosspost.timeutil import ManualClock

    site(linkedin, tmp_path)
    linkedin.script = [
        (201, {"x-restli-id": "urn:li:share:9"}, None, 0),
        (200, {}, {"id": "urn:li:share:9", "commentary": "Open "}, 0),  # LinkedIn cut it
    ]
    logs.configure("logfmt", "info")
    runtime = Runtime(tmp_path / "crosspost.toml", ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC)))
    runtime.tick(threading.Event())
    logged = capsys.readouterr().out
    assert "level=error" in logged and "delivery sent, with a problem to look at" in logged
    assert main(["-c", str(tmp_path / "crosspost.toml"), "history"]) == 0
    shown = capsys.readouterr().out
    assert "sent" in shown and "urn:li:share:9" in shown
    assert "LinkedIn stored 5 of the 25 characters sent" in shown


def test_the_first_comment_goes_through_the_comments_api(linkedin) -> None:
    li = adapter(linkedin)
    receipt = li.publish(OutgoingPost(parts=("Winter hours",)), "k1")
    comment = li.comment(receipt, "Details (and #hours): https://acme.example/h", "k1#comment")
    request = linkedin.requests[-1]
    assert request["path"] == "/rest/socialActions/urn%3Ali%3Ashare%3A7001/comments"
    assert (
        request["headers"]["LinkedIn-Version"] and request["headers"]["X-Restli-Protocol-Version"]
    )
    [kept] = linkedin.comments[receipt.remote_id]
    assert kept["actor"] == "urn:li:organization:42" and kept["object"] == receipt.remote_id
    assert kept["message"] == {"text": "Details (and #hours): https://acme.example/h"}  # as is
    assert comment.remote_id == "urn:li:comment:(urn:li:activity:7001,7002)"
    assert comment.url == receipt.url


def test_a_comment_on_a_missing_post_or_too_long_is_refused(linkedin) -> None:
    li = adapter(linkedin)
    receipt = li.publish(OutgoingPost(parts=("Winter hours",)), "k1")
    with pytest.raises(PermanentError, match="LinkedIn 422: Comment text exceeds 1250"):
        li.comment(receipt, "x" * 1251, "k1#comment")
    with pytest.raises(PermanentError, match="LinkedIn 404"):
        li.comment(type(receipt)("urn:li:share:1", ""), "hello", "k1#comment")
    assert LinkedInAdapter.comment_rules.limit == 1250  # so `check` says it first


def test_a_comment_answered_without_an_id_is_an_unknown_outcome(linkedin) -> None:
    li = adapter(linkedin)
    receipt = li.publish(OutgoingPost(parts=("Winter hours",)), "k1")
    linkedin.script = [(201, {}, None, 0)]
    with pytest.raises(OutcomeUnknown, match="no id"):
        li.comment(receipt, "hello", "k1#comment")


def test_measure_an_organizations_posts_from_its_share_statistics(linkedin) -> None:
    li = adapter(linkedin)
    urn = li.publish(OutgoingPost(parts=("Winter hours",)), "k1").remote_id
    linkedin.statistics[urn] = {"impressionCount": 1500, "clickCount": 40, "likeCount": 30,
                                "commentCount": 5, "shareCount": 2}  # fmt: skip
    found = li.measure([urn, "urn:li:share:1"])  # the second is not this organization's
    assert found == {urn: Engagement(likes=30, reposts=2, replies=5, impressions=1500, clicks=40)}
    path = linkedin.requests[-1]["path"]
    assert "q=organizationalEntity&organizationalEntity=urn%3Ali%3Aorganization%3A42" in path
    assert f"shares=List(urn%3Ali%3Ashare%3A{urn.rsplit(':', 1)[1]},urn%3Ali%3Ashare%3A1)" in path


def test_a_members_numbers_need_r_member_social(linkedin) -> None:
    li = adapter(linkedin, author="urn:li:person:AbC")
    urn = li.publish(OutgoingPost(parts=("Hello",)), "k1").remote_id
    with pytest.raises(PermanentError, match="LinkedIn 403"):
        li.measure([urn])
    linkedin.member_social = True
    assert li.measure([urn]) == {urn: Engagement(likes=0, replies=0)}

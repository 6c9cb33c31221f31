"""The X adapter through tweepy's real code and our media upload, against a local X stand-in."""

from __future__ import annotations

import base64
import email
import hashlib
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
from crosspost_x import XAdapter
from fakex import OAUTH1, FakeX, make_x, x_error
from oauthlib.oauth1.rfc5849 import signature

from crosspost.adapter import (
    AuthError,
    Engagement,
    OutcomeUnknown,
    OutgoingPost,
    PermanentError,
    RateLimited,
    TransientError,
    account_for,
)
from crosspost.logs import REDACTOR
from crosspost.oauth import code_from_answer
from crosspost.sources.calendar import Image


@pytest.fixture
def fake() -> Iterator[FakeX]:
    server = FakeX()
    yield server
    server.close()


def oauth_params(header: str) -> dict[str, str]:
    assert header.startswith("OAuth ")
    return dict(
        signature.collect_parameters(
            headers={"Authorization": header}, exclude_oauth_signature=False, with_realm=False
        )
    )


def test_a_tweet_is_signed_with_oauth1_and_the_signature_checks_out(fake, tmp_path) -> None:
    receipt = make_x(fake, tmp_path).publish(OutgoingPost(parts=("Fresh bread at 7!",)), "k")
    assert receipt.remote_id == "1001"
    assert receipt.url == "https://x.com/i/web/status/1001"
    [request] = fake.requests
    assert fake.tweets() == [{"text": "Fresh bread at 7!"}]
    params = oauth_params(request["headers"]["Authorization"])
    assert params["oauth_consumer_key"] == "ck-public"
    assert params["oauth_token"] == "42-at-public"
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert (
        len(params["oauth_nonce"]) >= 16 and abs(int(params["oauth_timestamp"]) - time.time()) < 60
    )
    # Recompute the signature the way X does, over X's own URL (the stand-in is a rewrite).
    base = signature.signature_base_string(
        "POST",
        signature.base_string_uri("https://api.twitter.com/2/tweets"),
        signature.normalize_parameters(
            [(k, v) for k, v in params.items() if k != "oauth_signature"]
        ),
    )
    keys = SimpleNamespace(
        client_secret=OAUTH1["consumer_secret"],
        resource_owner_secret=OAUTH1["access_token_secret"],
    )
    expected = signature.sign_hmac_sha1_with_client(base, keys)
    assert params["oauth_signature"] == expected


def test_a_thread_is_a_chain_of_replies(fake, tmp_path) -> None:
    receipt = make_x(fake, tmp_path).publish(OutgoingPost(parts=("1/3 a", "2/3 b", "3/3 c")), "k")
    first, second, third = fake.tweets()
    assert first == {"text": "1/3 a"}
    assert second == {"text": "2/3 b", "reply": {"in_reply_to_tweet_id": "1001"}}
    assert third == {"text": "3/3 c", "reply": {"in_reply_to_tweet_id": "1002"}}
    assert receipt.remote_id == "1001"
    assert not list((tmp_path / "state").rglob("*.json"))  # progress is cleared when done


def test_a_retry_continues_a_broken_thread_without_reposting(fake, tmp_path) -> None:
    x = make_x(fake, tmp_path)
    post = OutgoingPost(parts=("1/3 a", "2/3 b", "3/3 c"))
    fake.script = [(201, {}, {"data": {"id": "500"}}, 0), x_error(503, "Service Unavailable")]
    with pytest.raises(TransientError, match=r"tweets 1-1 of 3 are posted.*status/500"):
        x.publish(post, "k")
    again = make_x(fake, tmp_path)  # a restart in between changes nothing
    receipt = again.publish(post, "k")
    texts = [t["text"] for t in fake.tweets()]
    assert texts == ["1/3 a", "2/3 b", "2/3 b", "3/3 c"]  # the first tweet went out once
    assert fake.tweets()[2]["reply"] == {"in_reply_to_tweet_id": "500"}
    assert receipt.remote_id == "500"


def test_images_use_the_v2_media_upload_with_alt_text(fake, tmp_path) -> None:
    shop, bread = tmp_path / "shop.jpg", tmp_path / "bread.png"
    shop.write_bytes(b"\xff\xd8\xffshop")
    bread.write_bytes(b"\x89PNG\r\n\x1a\nbread")
    images = (Image(shop, "Our shop front"), Image(bread, ""))
    make_x(fake, tmp_path).publish(OutgoingPost(parts=("Look", "2/2"), images=images), "k")
    uploads = [r for r in fake.requests if r["path"] == "/2/media/upload"]
    assert len(uploads) == 2
    parts = multipart(uploads[0])
    assert parts["media_category"] == b"tweet_image"
    assert parts["media"] == b"\xff\xd8\xffshop"
    assert "OAuth " in uploads[0]["headers"]["Authorization"]  # signed like the tweet
    assert fake.json_bodies("POST", "/2/media/metadata") == [
        {"id": "771001", "metadata": {"alt_text": {"text": "Our shop front"}}}
    ]  # no empty alt text is sent for the second image
    first, second = fake.tweets()
    assert first["media"] == {"media_ids": ["771001", "771003"]}
    assert "media" not in second


def multipart(request: dict) -> dict[str, bytes]:
    content_type = request["headers"]["Content-Type"]
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request["body"]
    )
    return {
        part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
        for part in message.get_payload()
    }


def test_too_many_images_is_refused_before_anything_is_sent(fake, tmp_path) -> None:
    picture = tmp_path / "p.jpg"
    picture.write_bytes(b"\xff\xd8\xffx")
    post = OutgoingPost(parts=("x",), images=(Image(picture, ""),) * 5)
    with pytest.raises(PermanentError, match="up to 4 images"):
        make_x(fake, tmp_path).publish(post, "k")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (x_error(401, "Unauthorized"), AuthError, "refused the credentials"),
        (
            x_error(403, "You are not allowed to create a Tweet with duplicate content."),
            PermanentError,
            "duplicate content",
        ),
        (
            x_error(403, "You are not permitted to perform this action."),
            PermanentError,
            "permission",
        ),
        (x_error(400, "Invalid Request: text too long"), PermanentError, "text too long"),
        (x_error(500, "Internal Error"), TransientError, "server error"),
        (x_error(503, "Service Unavailable"), TransientError, "server error"),
    ],
)
def test_errors_are_classified(fake, tmp_path, answer, error, text) -> None:
    fake.script = [answer]
    with pytest.raises(error, match=text) as info:
        make_x(fake, tmp_path).publish(OutgoingPost(parts=("x",)), "k")
    assert type(info.value) is error
    for secret in OAUTH1.values():
        assert secret not in str(info.value)


def test_rate_limit_carries_the_reset_time(fake, tmp_path) -> None:
    reset = int(time.time()) + 900
    fake.script = [x_error(429, "Too Many Requests", {"x-rate-limit-reset": str(reset)})]
    with pytest.raises(RateLimited) as info:
        make_x(fake, tmp_path).publish(OutgoingPost(parts=("x",)), "k")
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)


def test_rate_limit_on_the_media_upload_also_carries_it(fake, tmp_path) -> None:
    picture = tmp_path / "p.jpg"
    picture.write_bytes(b"\xff\xd8\xffx")
    reset = int(time.time()) + 60
    fake.script = [x_error(429, "Too Many Requests", {"x-rate-limit-reset": str(reset)})]
    with pytest.raises(RateLimited) as info:
        make_x(fake, tmp_path).publish(
            OutgoingPost(parts=("x",), images=(Image(picture, ""),)), "k"
        )
    assert info.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert fake.tweets() == []


def test_no_answer_to_a_tweet_is_an_unknown_outcome(fake, tmp_path) -> None:
    fake.script = [(201, {}, {"data": {"id": "1"}}, 1)]  # slower than the timeout
    with pytest.raises(OutcomeUnknown):
        make_x(fake, tmp_path, timeout=0.3).publish(OutgoingPost(parts=("x",)), "k")


def test_no_answer_to_a_media_upload_is_only_transient(fake, tmp_path) -> None:
    picture = tmp_path / "p.jpg"
    picture.write_bytes(b"\xff\xd8\xffx")
    fake.script = [(200, {}, {"data": {"id": "1"}}, 1)]
    with pytest.raises(TransientError) as info:
        make_x(fake, tmp_path, timeout=0.3).publish(
            OutgoingPost(parts=("x",), images=(Image(picture, ""),)), "k"
        )
    assert type(info.value) is TransientError


def test_a_refused_connection_is_transient(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    x = make_x(f"http://127.0.0.1:{port}", tmp_path)
    with pytest.raises(TransientError) as info:
        x.publish(OutgoingPost(parts=("x",)), "k")
    assert type(info.value) is TransientError


def test_verify_returns_the_handle(fake, tmp_path) -> None:
    assert make_x(fake, tmp_path).verify().handle == "@acme"
    assert fake.requests[0]["path"].startswith("/2/users/me")


def test_reconcile_finds_the_tweet_despite_shortened_links(fake, tmp_path) -> None:
    fake.timeline = [
        {"id": "9", "text": "Other news"},
        {"id": "8", "text": "Bread &amp; butter https://t.co/abc https://t.co/media"},
    ]
    post = OutgoingPost(parts=("Bread & butter https://acme.example/bread",))
    receipt = make_x(fake, tmp_path).reconcile(post, "k")
    assert receipt is not None and receipt.remote_id == "8"
    fake.timeline = [{"id": "9", "text": "Other news"}]
    assert make_x(fake, tmp_path).reconcile(post, "k2") is None


# OAuth 2.0 ------------------------------------------------------------------------------


def oauth2_secrets() -> dict[str, str]:
    return {"client_id": "cid", "client_secret": "csecret-XYZ", "refresh_token": "refresh-seed"}


def test_oauth2_stores_the_new_refresh_token_before_using_the_access_token(fake, tmp_path) -> None:
    REDACTOR.update(oauth2_secrets().values())  # what loading the secrets file does
    x = make_x(fake, tmp_path, oauth2_secrets(), auth="oauth2")
    token_file = tmp_path / "state" / "x" / "acme_x" / "token.json"
    seen_on_disk: list[dict] = []
    fake.on_tweet.append(lambda: seen_on_disk.append(json.loads(token_file.read_text())))
    x.publish(OutgoingPost(parts=("hello",)), "k")
    [refresh] = [r for r in fake.requests if r["path"] == "/2/oauth2/token"]
    form = dict(parse_qsl(refresh["body"].decode()))
    assert form == {
        "grant_type": "refresh_token",
        "refresh_token": "refresh-seed",
        "client_id": "cid",
    }
    assert refresh["headers"]["Authorization"].startswith("Basic ")  # confidential client
    assert seen_on_disk[0]["refresh_token"] == "refresh-1001"  # on disk before the tweet
    tweet = next(r for r in fake.requests if r["path"] == "/2/tweets")
    assert tweet["headers"]["Authorization"] == "Bearer access-1001"
    assert token_file.stat().st_mode & 0o777 == 0o600
    # tweepy logs headers at DEBUG: tokens obtained by refresh are redacted like the others
    assert "access-1001" not in REDACTOR.scrub("Authorization: Bearer access-1001")
    assert "refresh-1001" not in REDACTOR.scrub("refresh_token=refresh-1001")
    assert "csecret-XYZ" not in REDACTOR.scrub("client_secret=csecret-XYZ")  # still hidden


def test_oauth2_refreshes_only_when_due_and_spends_each_refresh_token_once(fake, tmp_path) -> None:
    make_x(fake, tmp_path, oauth2_secrets(), auth="oauth2").publish(OutgoingPost(parts=("a",)), "1")
    make_x(fake, tmp_path, oauth2_secrets(), auth="oauth2").publish(OutgoingPost(parts=("b",)), "2")
    assert len([r for r in fake.requests if r["path"] == "/2/oauth2/token"]) == 1
    token_file = tmp_path / "state" / "x" / "acme_x" / "token.json"
    state = json.loads(token_file.read_text())
    token_file.write_text(json.dumps({**state, "expires_at": time.time() - 1}))
    make_x(fake, tmp_path, oauth2_secrets(), auth="oauth2").publish(OutgoingPost(parts=("c",)), "3")
    refreshes = [r for r in fake.requests if r["path"] == "/2/oauth2/token"]
    assert dict(parse_qsl(refreshes[1]["body"].decode()))["refresh_token"] == "refresh-1001"


def test_a_refused_refresh_token_is_an_auth_error(fake, tmp_path) -> None:
    fake.script = [
        (
            400,
            {},
            {
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid.",
            },
            0,
        )
    ]
    with pytest.raises(AuthError, match="crosspost auth"):
        make_x(fake, tmp_path, oauth2_secrets(), auth="oauth2").publish(
            OutgoingPost(parts=("a",)), "k"
        )
    assert fake.tweets() == []


def test_missing_secrets_are_named(tmp_path) -> None:
    with pytest.raises(ValueError, match="access_token_secret"):
        make_x(
            "http://127.0.0.1:9",
            tmp_path,
            {"consumer_key": "a", "consumer_secret": "b", "access_token": "c"},
        )


def test_the_auth_walk_through_uses_pkce(fake, tmp_path) -> None:
    settings = {"api_base_url": fake.url, "auth": "oauth2"}
    flow = XAdapter.oauth_flow(
        account_for(XAdapter, "acme_x", settings, oauth2_secrets(), tmp_path, tmp_path)
    )
    url = flow.authorization_url("http://localhost:8910/callback", "st4te")
    query = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith("https://x.com/i/oauth2/authorize?")
    assert query["code_challenge_method"] == "S256" and "offline.access" in query["scope"]
    code = code_from_answer("http://localhost:8910/callback?state=st4te&code=the-code", "st4te")
    tokens = flow.exchange(code, "http://localhost:8910/callback")
    assert tokens.secrets == {"refresh_token": "refresh-1001"}
    form = dict(parse_qsl(fake.requests[0]["body"].decode()))
    assert form["code"] == "the-code" and form["grant_type"] == "authorization_code"

    digest = hashlib.sha256(form["code_verifier"].encode()).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == query["code_challenge"]


def test_check_reports_characters_x_refuses_at_the_calendar_line(tmp_path, capsys) -> None:
    from crosspost.cli.main import main

    (tmp_path / "crosspost.toml").write_text(
        '[daemon]\ncalendars = ["calendar.toml"]\nsecrets = "secrets.toml"\n'
        '[accounts.x]\nnetwork = "x"\n'
    )
    (tmp_path / "secrets.toml").write_text(
        "[accounts.x]\n" + "".join(f'{k} = "{v}"\n' for k, v in OAUTH1.items())
    )
    (tmp_path / "secrets.toml").chmod(0o600)
    (tmp_path / "calendar.toml").write_text(
        '[[post]]\nid = "pasted"\nat = 2030-01-07T09:00:00\naccounts = ["x"]\n'
        'text = "Fresh bread\ufeff today"\n'
    )
    assert main(["-c", str(tmp_path / "crosspost.toml"), "check"]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'calendar.toml'}:2: [post.text] error: for account 'x':" in out
    assert "U+FEFF (ZERO WIDTH NO-BREAK SPACE), which the network refuses" in out


def test_the_first_comment_is_a_reply_to_the_first_tweet(fake, tmp_path) -> None:
    x = make_x(fake, tmp_path)
    receipt = x.publish(OutgoingPost(parts=("1/2 a", "2/2 b")), "k")
    comment = x.comment(receipt, "Order: https://acme.example/order", "k#comment")
    *_, reply = fake.tweets()
    assert reply == {
        "text": "Order: https://acme.example/order",
        "reply": {"in_reply_to_tweet_id": receipt.remote_id},  # under the first, not the last
    }
    assert comment.url == f"https://x.com/i/web/status/{comment.remote_id}"
    assert fake.requests[-1]["headers"]["Authorization"].startswith("OAuth ")


def test_a_reply_to_a_deleted_tweet_is_refused_and_no_answer_is_unknown(fake, tmp_path) -> None:
    x = make_x(fake, tmp_path)
    gone = x.publish(OutgoingPost(parts=("hello",)), "k")
    fake.deleted.add(gone.remote_id)  # deleted on X since
    with pytest.raises(PermanentError, match="deleted or not visible"):
        x.comment(gone, "Order now", "k#comment")
    receipt = x.publish(OutgoingPost(parts=("again",)), "k2")
    fake.script = [(201, {}, {"data": {"id": "9"}}, 3.0)]  # past the 2 s timeout
    with pytest.raises(OutcomeUnknown):
        x.comment(receipt, "Order now", "k2#comment")


def test_measure_reads_public_metrics_of_a_hundred_tweets_at_once(fake, tmp_path) -> None:
    x = make_x(fake, tmp_path)
    thread = x.publish(OutgoingPost(parts=("1/2 a", "2/2 b")), "k")
    assert thread.parts == (thread.remote_id, fake.timeline[0]["id"])  # each part's id kept
    first, second = thread.parts
    counts = {"retweet_count": 2, "reply_count": 1, "like_count": 9, "quote_count": 1}
    fake.metrics[first] = {**counts, "bookmark_count": 3, "impression_count": 410}
    fake.deleted.add(second)
    found = x.measure([first, second])
    request = fake.requests[-1]
    assert request["method"] == "GET" and "ids=" + first + "%2C" + second in request["path"]
    assert "tweet.fields=public_metrics" in request["path"]
    assert found == {first: Engagement(likes=9, reposts=3, replies=1, impressions=410, saves=3)}
    assert found[first].clicks is None  # X gives no link clicks here: missing, not 0
    assert x.measure_batch == 100


def test_measure_without_read_access_is_a_permanent_refusal(fake, tmp_path) -> None:
    x = make_x(fake, tmp_path)
    receipt = x.publish(OutgoingPost(parts=("hello",)), "k")
    fake.enrolled = False
    with pytest.raises(PermanentError, match=r"client-not-enrolled|403"):
        x.measure([receipt.remote_id])

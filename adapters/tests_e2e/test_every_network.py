"""Done means: one account per network, each pointed at a local stand-in, `crosspost run
--once` (the real command, as a subprocess) publishes a calendar post with its thread or
images to each, and `crosspost history` shows each remote URL."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_cli import crosspost

from crosspost.testing import Answer, ScriptedHTTPServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "linkedin" / "tests"))
from fakelinkedin import FakeLinkedIn  # LinkedIn's documented stand-in

CONFIG = """
[daemon]
timezone = "UTC"
state_dir = "var"
secrets = "secrets.toml"
calendars = ["calendar.toml"]
catch_up = "2h"

[voices.short]
template = "{{{{ text }}}} {{{{ link }}}}"
overflow = "thread"

[voices.corporate]
template = "{{{{ text }}}}\\n\\nRead more: {{{{ link }}}}"
utm = {{ utm_source = "social_media", utm_campaign = "winter_bread" }}

[accounts.acme_x]
network = "x"
voice = "short"
api_base_url = "{url}"

[accounts.acme_fb]
network = "facebook"
voice = "corporate"
page_id = "123"
api_base_url = "{url}"

[accounts.acme_ig]
network = "instagram"
voice = "corporate"
ig_user_id = "178"
api_base_url = "{url}"
media_base_url = "https://acme.example/files"

[accounts.acme_li]
network = "linkedin"
voice = "corporate"
author = "urn:li:organization:42"
api_base_url = "{linkedin_url}"
"""

SECRETS = """
[accounts.acme_x]
consumer_key = "ck"
consumer_secret = "cs-secret"
access_token = "42-at"
access_token_secret = "ats-secret"

[accounts.acme_fb]
page_access_token = "EAA-page-secret"

[accounts.acme_ig]
page_access_token = "EAA-page-secret"

[accounts.acme_li]
access_token = "AQV-secret"
"""

TEXT = (
    "Our winter bread is back: rye, spelt and a long cold proof give it a deep, slightly sour "
    "taste and a crust that stays crisp for days. We bake it every morning from Monday to "
    "Saturday, and the first loaves come out of the oven at seven. Come early, bring a bag, "
    "and ask for a taste of the new seeded loaf while you are here."
)


class EveryNetwork(ScriptedHTTPServer):
    """X, the Graph API (Page and Instagram) and LinkedIn on one socket: their paths differ."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.tweet_ids: list[str] = []

    def default_answer(self, method: str, path: str) -> Answer:
        self.n += 1
        if path == "/2/tweets":
            self.tweet_ids.append(f"18{self.n}")
        answers: list[tuple[str, Answer]] = [
            ("/2/tweets", (201, {}, {"data": {"id": f"18{self.n}"}}, 0)),
            ("/2/media/upload", (200, {}, {"data": {"id": f"77{self.n}"}}, 0)),
            ("/2/media/metadata", (200, {}, {"data": {}}, 0)),
            ("/v23.0/123/photos", (200, {}, {"id": "55", "post_id": "123_55"}, 0)),
            ("/v23.0/123_55/comments", (200, {}, {"id": "55_701"}, 0)),
            ("/v23.0/1790/comments", (200, {}, {"id": "17870913679156914"}, 0)),
            ("/v23.0/178/media_publish", (200, {}, {"id": "1790"}, 0)),
            ("/v23.0/178/media", (200, {}, {"id": f"c{self.n}"}, 0)),
            ("/v23.0/c", (200, {}, {"status_code": "FINISHED"}, 0)),
            ("/v23.0/1790", (200, {}, {"permalink": "https://www.instagram.com/p/BREAD/"}, 0)),
        ]
        for prefix, answer in answers:
            if path.startswith(prefix):
                return answer
        return 404, {}, {"error": {"message": f"no {method} {path}", "code": 803}}, 0

    def paths(self) -> list[str]:
        return [r["path"].split("?")[0] for r in self.requests]


@pytest.fixture
def networks():
    server = EveryNetwork()
    yield server
    server.close()


@pytest.fixture
def linkedin():
    server = FakeLinkedIn()  # keeps a commentary up to an unescaped character, still 201
    yield server
    server.close()


def test_run_once_publishes_to_every_network_and_history_shows_the_urls(
    networks: EveryNetwork, linkedin: FakeLinkedIn, tmp_path: Path
) -> None:
    (tmp_path / "crosspost.toml").write_text(
        CONFIG.format(url=networks.url, linkedin_url=linkedin.url)
    )
    (tmp_path / "secrets.toml").write_text(SECRETS)
    (tmp_path / "secrets.toml").chmod(0o600)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "bread.jpg").write_bytes(b"\xff\xd8\xff\xe0bread")
    due = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "calendar.toml").write_text(
        "[[post]]\n"
        'id = "winter-bread"\n'
        f"at = {due}\n"
        f'text = "{TEXT}"\n'
        'link = "https://acme.example/winter-bread"\n'
        'images = [{ path = "img/bread.jpg", alt = "A dark rye loaf on the counter" }]\n'
        'accounts = ["acme_x", "acme_fb", "acme_ig", "acme_li"]\n'
        'first_comment = "Order yours for Saturday: https://acme.example/order"\n'
        "[post.override.acme_ig]\n"
        'first_comment = "#bread #rye #bakery"\n'
    )
    config = tmp_path / "crosspost.toml"
    assert crosspost(config, "check").returncode == 0

    result = crosspost(config, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr

    tweets = networks.json_bodies("POST", "/2/tweets")
    assert len(tweets) >= 2  # the long text became a thread on X
    assert tweets[0]["media"]["media_ids"] and "media" not in tweets[1]
    assert tweets[1]["reply"]["in_reply_to_tweet_id"].startswith("18")
    paths = networks.paths()
    assert "/2/media/upload" in paths and "/2/media/metadata" in paths
    assert "/v23.0/123/photos" in paths  # the Page got the photo with the text
    assert "/v23.0/178/media_publish" in paths  # Instagram: container, wait, publish
    container = next(r for r in networks.requests if r["path"] == "/v23.0/178/media")
    assert b"image_url=https%3A%2F%2Facme.example%2Ffiles%2Fimg%2Fbread.jpg" in container["body"]
    [post] = linkedin.posts()
    assert post["content"]["media"]["altText"] == "A dark rye loaf on the counter"
    [stored] = linkedin.stored.values()
    assert stored["commentary"] == post["commentary"]  # LinkedIn kept every character
    assert "utm\\_source=social\\_media" in stored["commentary"]

    # each network got its first comment once, under the post it had just published
    reply = tweets[-1]
    assert reply == {"text": "Order yours for Saturday: https://acme.example/order",
                     "reply": {"in_reply_to_tweet_id": networks.tweet_ids[0]}}  # fmt: skip
    form = {r["path"]: r["body"] for r in networks.requests if r["path"].endswith("/comments")}
    assert form == {
        "/v23.0/123_55/comments": b"message=Order+yours+for+Saturday%3A+"
        b"https%3A%2F%2Facme.example%2Forder",
        "/v23.0/1790/comments": b"message=%23bread+%23rye+%23bakery",
    }
    [(urn, [comment])] = linkedin.comments.items()
    assert urn == stored["id"] and comment["message"]["text"].startswith("Order yours")

    history = crosspost(config, "history")
    assert history.returncode == 0
    out = history.stdout
    assert out.count("sent") >= 4, out
    assert out.count("(+ first comment)") == 4, out
    for url in (
        f"https://x.com/i/web/status/{networks.tweet_ids[0]}",
        "https://www.facebook.com/123_55",
        "https://www.instagram.com/p/BREAD/",
        f"https://www.linkedin.com/feed/update/{stored['id']}/",
    ):
        assert url in out, (url, out)
    assert "⚠" not in out  # no network changed what was sent
    for secret in ("cs-secret", "ats-secret", "EAA-page-secret", "AQV-secret"):
        assert secret not in result.stdout + result.stderr + out

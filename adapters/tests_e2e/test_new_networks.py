"""Done means, for Mastodon, Bluesky and Threads: `crosspost run --once` (the real command,
as a subprocess) publishes a calendar post, its thread and its image to each stand-in, the
first answer of Mastodon and Bluesky is lost after they stored the post and no duplicate
follows, and `crosspost history` shows each public URL."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from e2e_cli import crosspost

from crosspost.testing.faults import FaultPlan

ADAPTERS = Path(__file__).resolve().parents[1]
for network in ("mastodon", "bluesky", "threads"):
    sys.path.insert(0, str(ADAPTERS / network / "tests"))
from fakebluesky import DID, PASSWORD, FakeBluesky  # noqa: E402
from fakemastodon import TOKEN as MASTODON_TOKEN  # noqa: E402
from fakemastodon import FakeMastodon  # noqa: E402
from fakethreads import TOKEN as THREADS_TOKEN  # noqa: E402
from fakethreads import USER, FakeThreads  # noqa: E402

CONFIG = """
[daemon]
timezone = "UTC"
state_dir = "var"
secrets = "secrets.toml"
calendars = ["calendar.toml"]
catch_up = "2h"

[voices.casual]
template = "{{{{ text }}}} {{{{ link }}}}"
overflow = "thread"

[accounts.acme_mastodon]
network = "mastodon"
voice = "casual"
api_base_url = "{mastodon}"
media_check_seconds = 0.05
timeout = 2

[accounts.acme_bluesky]
network = "bluesky"
voice = "casual"
handle = "acme.bsky.social"
service = "{bluesky}"
timeout = 2

[accounts.acme_threads]
network = "threads"
voice = "casual"
api_base_url = "{threads}"
threads_user_id = "{user}"
media_base_url = "https://acme.example/files"
container_check_seconds = 0.05
timeout = 2
"""

SECRETS = f"""
[accounts.acme_mastodon]
access_token = "{MASTODON_TOKEN}"

[accounts.acme_bluesky]
app_password = "{PASSWORD}"

[accounts.acme_threads]
access_token = "{THREADS_TOKEN}"
"""

TEXT = (
    "Notre pain d'hiver est de retour 🍞 : seigle, épeautre et une longue pousse à froid lui "
    "donnent un goût profond, légèrement acidulé, et une croûte qui reste croustillante des "
    "jours. Nous le cuisons chaque matin du lundi au samedi, les premières miches sortent du "
    "four à sept heures. Venez tôt, apportez un sac, et goûtez la nouvelle miche aux graines "
    "pendant que vous êtes là. Merci à toutes celles et ceux qui nous l'ont réclamé tout "
    "l'été : vous aviez raison, il manquait à la vitrine. "
) * 2


@pytest.fixture
def stand_ins() -> Iterator[tuple[FakeMastodon, FakeBluesky, FakeThreads]]:
    servers = (FakeMastodon(), FakeBluesky(), FakeThreads())
    yield servers
    for server in servers:
        server.close()


def write_site(stand_ins: tuple[FakeMastodon, FakeBluesky, FakeThreads], folder: Path) -> Path:
    """The config naming the three stand-ins, and the secrets file beside it."""
    mastodon, bluesky, threads = stand_ins
    config = folder / "crosspost.toml"
    config.write_text(
        CONFIG.format(mastodon=mastodon.url, bluesky=bluesky.url, threads=threads.url, user=USER)
    )
    (folder / "secrets.toml").write_text(SECRETS)
    (folder / "secrets.toml").chmod(0o600)
    return config


def test_a_thread_with_an_image_reaches_each_new_network_once(
    stand_ins: tuple[FakeMastodon, FakeBluesky, FakeThreads], tmp_path: Path
) -> None:
    mastodon, bluesky, threads = stand_ins
    config = write_site(stand_ins, tmp_path)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "bread.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"bread" * 20)
    due = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "calendar.toml").write_text(
        "[[post]]\n"
        'id = "pain-hiver"\n'
        f"at = {due}\n"
        f'text = "{TEXT}"\n'
        'link = "https://acme.example/pain-hiver"\n'
        'images = [{ path = "img/bread.jpg", alt = "Une miche de seigle sur le comptoir" }]\n'
        'accounts = ["acme_mastodon", "acme_bluesky", "acme_threads"]\n'
    )
    check = crosspost(config, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    mastodon.plan = FaultPlan(at={1: "lost"})  # the first status is stored, its answer lost
    bluesky.plan = FaultPlan(at={1: "lost"})  # the first record too

    result = crosspost(config, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr

    assert [f[1] for f in mastodon.ledger.faults + bluesky.ledger.faults] == ["lost", "lost"]
    statuses = list(reversed(mastodon.statuses))
    assert len(statuses) >= 2 and len(mastodon.ledger.accepted) == len(statuses)
    assert [m["description"] for m in statuses[0]["media_attachments"]] == [
        "Une miche de seigle sur le comptoir"
    ]
    for before, reply in itertools.pairwise(statuses):
        assert reply["in_reply_to_id"] == before["id"]
    records = bluesky.posts()
    assert len(records) >= 3  # 300 graphemes each
    assert len({r["text"] for r in records}) == len(records)  # none twice
    root = next(r for r in records if "reply" not in r)
    card = root["embed"]["external"]  # the link's card, the image as its thumbnail
    assert card["uri"].startswith("https://acme.example/pain-hiver") and card["thumb"]["ref"]
    assert all(
        r["reply"]["root"]["uri"].startswith(f"at://{DID}/") for r in records if r is not root
    )
    posts = list(reversed(threads.posts))
    assert len(posts) >= 2 and posts[0]["media_type"] == "IMAGE"
    assert all(p["reply_to_id"] == q["id"] for q, p in itertools.pairwise(posts))

    history = crosspost(config, "history")
    assert history.returncode == 0
    out = history.stdout
    assert out.count("sent") >= 3, out
    for url in (statuses[0]["url"], posts[0]["permalink"], "https://bsky.app/profile/"):
        assert url in out, (url, out)
    for secret in (MASTODON_TOKEN, PASSWORD, THREADS_TOKEN):
        assert secret not in result.stdout + result.stderr + out


def test_the_first_comment_reaches_each_new_network_once_even_when_its_answer_is_lost(
    stand_ins: tuple[FakeMastodon, FakeBluesky, FakeThreads], tmp_path: Path
) -> None:
    mastodon, bluesky, threads = stand_ins
    config = write_site(stand_ins, tmp_path)
    due = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    (tmp_path / "calendar.toml").write_text(
        "[[post]]\n"
        'id = "pain-hiver"\n'
        f"at = {due}\n"
        'text = "Notre pain d\'hiver est de retour 🍞"\n'
        'accounts = ["acme_mastodon", "acme_bluesky", "acme_threads"]\n'
        'first_comment = "Commandez pour samedi : https://acme.example/commande"\n'
    )
    assert crosspost(config, "check").returncode == 0
    mastodon.plan = FaultPlan(at={2: "lost"})  # the reply is stored, its answer lost
    bluesky.plan = FaultPlan(at={2: "lost"})  # the reply's record too

    result = crosspost(config, "run", "--once")
    assert result.returncode == 0, result.stdout + result.stderr

    assert [f[1] for f in mastodon.ledger.faults + bluesky.ledger.faults] == ["lost", "lost"]
    post, reply = reversed(mastodon.statuses)  # sent again under its key: one reply
    assert reply["in_reply_to_id"] == post["id"] and "Commandez" in reply["content"]
    root, answer = bluesky.records.values()  # the same record key: one reply
    assert answer["value"]["reply"]["parent"] == {"uri": root["uri"], "cid": root["cid"]}
    assert bluesky.orphans == []
    first, comment = reversed(threads.posts)
    assert comment["reply_to_id"] == first["id"] and comment["text"].startswith("Commandez")

    out = crosspost(config, "history").stdout
    assert out.count("(+ first comment)") == 3, out
    assert "⚠" not in out

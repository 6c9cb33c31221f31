"""First comments: one more recorded step of a delivery, against real HTTP and a real SQLite
file, under the manual clock. The post is never published twice for its comment, and a
comment whose outcome is unknown is never sent twice."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crosspost import store
from crosspost.cli.main import main
from crosspost.config.settings import load_config
from crosspost.delivery import claims
from crosspost.service.runtime import Runtime
from crosspost.sources.approval import content_digest
from crosspost.sources.calendar_load import load_calendar
from crosspost.timeutil import ManualClock

NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

POST = """
[[post]]
id = "bread"
at = 2026-03-02T09:00:00
accounts = ["talk"]
text = "Our winter bread is back"
first_comment = "Order yours: https://acme.example/order"
"""


def next_year(calendar: str) -> str:
    """`check` looks at what is still to come: the same post, a year from the tests' clock."""
    return calendar.replace("at = 2026-", "at = 2027-")


COMMENT_LINE = 'first_comment = "Order yours: https://acme.example/order"\n'


@pytest.fixture
def site(talk_site):  # type: ignore[no-untyped-def]
    def make(calendar: str = POST, extra: str = "") -> Path:
        return talk_site(calendar, extra)  # type: ignore[no-any-return]

    return make


def tick(runtime: Runtime, clock: ManualClock, when: datetime) -> store.Delivery:
    clock.set(when)
    runtime.tick(threading.Event())
    [row] = store.deliveries(runtime.engine, store.columns.account == "talk")
    return row


def published(net) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return net.json_bodies("POST", "/posts")


def comments(net) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [json.loads(r["body"]) for r in net.requests if r["path"].endswith("/comments")]


def test_the_comment_follows_the_post_once_and_is_recorded(site, net, clock) -> None:
    runtime = Runtime(site(), clock)
    row = tick(runtime, clock, NINE)
    assert row.status == "sent" and row.reason is None and row.progress is None
    assert [p["parts"] for p in published(net)] == [["Our winter bread is back"]]
    [request] = [r for r in net.requests if r["path"].endswith("/comments")]
    assert request["path"] == "/posts/1/comments"  # under the post the network returned
    assert comments(net) == [{"text": "Order yours: https://acme.example/order"}]
    assert row.remote_url == "https://testnet.invalid/p/1"
    assert row.comment_url == "https://testnet.invalid/p/2"
    Runtime(site(), clock).reload()
    tick(runtime, clock, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    assert len(published(net)) == 1 and len(comments(net)) == 1


def test_a_comment_refused_for_now_is_tried_again_alone(site, net, clock) -> None:
    net.script = [(200, {}, None, 0), (503, {}, {"error": "busy"}, 0)]  # post ok, comment 503
    runtime = Runtime(site(), clock)
    row = tick(runtime, clock, NINE)
    assert row.status == "queued" and "published; its first comment" in (row.reason or "")
    assert row.remote_url == "https://testnet.invalid/p/1"  # shown while the comment waits
    row = tick(runtime, clock, row.next_attempt_at)
    assert row.status == "sent" and row.comment_url
    assert len(published(net)) == 1  # the post once; its comment twice, the first refused
    assert len(comments(net)) == 2


def test_a_comment_whose_answer_never_came_is_not_sent_again(site, net, clock) -> None:
    net.script = [(200, {}, None, 0), (200, {}, None, 3.0)]  # the comment: past the timeout
    runtime = Runtime(site(), clock)
    row = tick(runtime, clock, NINE)
    assert row.status == "sent" and row.comment_url is None
    assert "first comment was not added" in (row.reason or "")
    assert "never sends it twice" in (row.reason or "")
    tick(runtime, clock, datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    assert len(comments(net)) == 1 and len(published(net)) == 1


def test_a_comment_the_network_refuses_leaves_the_post_sent_with_why(site, net, clock) -> None:
    net.script = [(200, {}, None, 0), (400, {}, {"error": "comments are off"}, 0)]
    row = tick(Runtime(site(), clock), clock, NINE)
    assert row.status == "sent" and "comments are off" in (row.reason or "")


def _interrupted(site, clock, progress: dict[str, str]) -> Runtime:  # type: ignore[no-untyped-def]
    """A delivery a dead daemon left in `sending`, at the step `progress` says."""
    path = site()
    runtime = Runtime(path, clock)
    clock.set(NINE)
    runtime.planner.materialise_due(clock())
    claimed = claims.claim(runtime.engine, clock(), "thishost:999999")
    assert claimed is not None
    an_hour_ago = clock() - timedelta(hours=1)  # past the lease
    store.set_status(runtime.engine, store.columns.id == claimed.id, clock(),
                     progress=json.dumps(progress), claimed_at=an_hour_ago)  # fmt: skip
    return Runtime(path, clock)


def test_a_crash_while_commenting_leaves_it_sent_with_a_warning(site, net, clock) -> None:
    mark = {"_posted": "7", "_posted_url": "https://testnet.invalid/p/7", "_commenting": "1"}
    restarted = _interrupted(site, clock, mark)
    restarted.tick(threading.Event())
    [row] = store.deliveries(restarted.engine)
    assert row.status == "sent" and row.remote_url == "https://testnet.invalid/p/7"
    assert "interrupted while adding it" in (row.reason or "")
    assert published(net) == [] and comments(net) == []  # neither is sent again


def test_a_crash_after_the_post_and_before_its_comment_sends_the_comment(site, net, clock) -> None:
    restarted = _interrupted(site, clock, {"_posted": "7", "_posted_url": "https://t/p/7"})
    restarted.tick(threading.Event())
    [row] = store.deliveries(restarted.engine)
    assert row.status == "sent" and row.reason is None and row.comment_url
    assert published(net) == [] and len(comments(net)) == 1
    assert net.requests[-1]["path"] == "/posts/7/comments"


def test_a_post_found_after_a_lost_answer_still_gets_its_comment(site, net, clock) -> None:
    net.script = [(200, {}, None, 3.0)]  # the post is stored, its answer comes too late
    row = tick(Runtime(site(), clock), clock, NINE)
    assert row.status == "sent" and row.comment_url and row.remote_url.endswith("/p/1")
    assert len(published(net)) == 1 and len(comments(net)) == 1


def test_a_network_that_cannot_comment_publishes_the_post_and_says_so(
    make_site, net, clock, tmp_path, capsys
) -> None:
    calendar = POST.replace('["talk"]', '["net"]')
    assert (
        main(["-c", str(make_site(next_year(calendar), net_url=net.url)), "check"]) == 0
    )  # a warning: the post still goes out
    out = capsys.readouterr().out
    assert "calendar.toml:" in out and "post.first_comment" in out
    assert "testnet adapter cannot add a first comment" in out
    runtime = Runtime(make_site(calendar, net_url=net.url), clock)
    clock.set(NINE)
    runtime.tick(threading.Event())
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and comments(net) == []


def test_check_points_at_a_comment_too_long_for_the_network(site, capsys) -> None:
    long = next_year(POST.replace("Order yours", "Order yours " + "now " * 30))
    path = site(long)
    assert main(["-c", str(path), "check"]) == 1
    out = capsys.readouterr().out
    assert "calendar.toml:7: [post.first_comment]" in out  # the comment's own line
    assert "first comment is 160 for a limit of 100 chars on commentnet" in out
    assert "override.ACCOUNT.first_comment" in out
    # an override gives this account a shorter one, or none
    short = long + '[post.override.talk]\nfirst_comment = "Order online"\n'
    assert main(["-c", str(site(short)), "check"]) == 0
    none = long + '[post.override.talk]\nfirst_comment = ""\n'
    assert main(["-c", str(site(none)), "check"]) == 0
    # a too-long one in the override: its line, in a file of two posts
    other = '\n[[post]]\nid = "other"\nat = 2027-01-01T09:00:00\naccounts = ["box"]\ntext = "Hi"\n'
    bad = next_year(POST) + '[post.override.talk]\nfirst_comment = "' + "now " * 30 + '"\n'
    assert main(["-c", str(site(other + bad)), "check"]) == 1
    assert "calendar.toml:15: [post.first_comment]" in capsys.readouterr().out


def test_an_override_with_only_a_comment_keeps_the_voices_text(site, net, clock) -> None:
    calendar = POST + '[post.override.talk]\nfirst_comment = "Only here"\n'
    row = tick(Runtime(site(calendar), clock), clock, NINE)
    assert row.text == "Our winter bread is back" and comments(net) == [{"text": "Only here"}]


def test_an_override_with_neither_text_nor_comment_is_an_error(site, capsys) -> None:
    calendar = POST + "[post.override.talk]\n"
    assert main(["-c", str(site(calendar)), "check"]) == 1
    assert "override for 'talk' needs `text` or `first_comment`" in capsys.readouterr().out


def test_preview_shows_the_comment_with_its_count(site, capsys) -> None:
    assert main(["-c", str(site()), "preview", "bread"]) == 0
    out = capsys.readouterr().out
    assert "first comment:\n   Order yours: https://acme.example/order\n   (39 / 100)" in out


def test_the_charter_reads_the_comment_too(site, net, clock, capsys) -> None:
    rules = '[[charter.rules]]\nname = "rival"\npattern = "Globex"\nreason = "no rivals"\n'
    calendar = POST.replace("Order yours", "Cheaper than Globex")
    assert main(["-c", str(site(next_year(calendar), extra=rules)), "check"]) == 1
    assert "'Globex'" in capsys.readouterr().out
    row = tick(Runtime(site(calendar, extra=rules), clock), clock, NINE)
    assert row.status == "held" and published(net) == []


def test_editing_the_comment_voids_an_approval_and_older_ones_stay_valid(site) -> None:
    path = site()
    post = load_calendar(load_config(path)).posts["bread"]
    (path.parent / "calendar.toml").write_text(POST.replace("Order yours", "Order now"))
    changed = load_calendar(load_config(path)).posts["bread"]
    assert content_digest(changed) != content_digest(post)
    # a post without a first comment has the digest approvals had before comments existed
    (path.parent / "calendar.toml").write_text(POST.replace(COMMENT_LINE, ""))
    without = load_calendar(load_config(path)).posts["bread"]
    before = {"text": without.text, "title": "", "link": "", "images": [],
              "accounts": ["talk"], "overrides": {}}  # fmt: skip
    canonical = json.dumps(before, sort_keys=True, ensure_ascii=False).encode()
    assert content_digest(without) == hashlib.blake2b(canonical, digest_size=10).hexdigest()


def keyed(site) -> Path:  # type: ignore[no-untyped-def]
    """The site, with "talk" on a network that takes idempotency keys for 55 minutes."""
    path: Path = site()
    path.write_text(path.read_text().replace('network = "commentnet"', 'network = "keynet"'))
    return path


def test_a_lost_comment_is_sent_again_at_once_under_its_key(site, net, clock) -> None:
    net.script = [(200, {}, None, 0), (200, {}, None, 3.0)]  # the comment: past the timeout
    row = tick(Runtime(keyed(site), clock), clock, NINE)
    assert row.status == "sent" and row.comment_url and row.reason is None
    assert len(comments(net)) == 2 and len(published(net)) == 1  # one comment, by its key


def test_a_lost_comment_is_not_sent_again_once_the_network_forgot_its_key(site, net, clock) -> None:
    lost = (NINE - timedelta(hours=2)).isoformat()  # then no daemon ran for two hours
    mark = {"_posted": "7", "_posted_url": "https://testnet.invalid/p/7",
            "_comment_unknown_since": lost}  # fmt: skip
    restarted = _interrupted(lambda: keyed(site), clock, mark)
    restarted.tick(threading.Event())
    [row] = store.deliveries(restarted.engine)
    assert row.status == "sent" and row.comment_url is None and comments(net) == []
    assert "its answer was lost" in (row.reason or "")


@pytest.mark.parametrize(
    ("ago", "again"), [(timedelta(minutes=10), True), (timedelta(hours=2), False)]
)
def test_a_crash_while_commenting_resends_under_a_key_only_while_it_is_kept(
    site, net, clock, ago, again
) -> None:
    handed = (NINE - ago).isoformat()
    mark = {"_posted": "7", "_posted_url": "https://testnet.invalid/p/7", "_commenting": handed}
    restarted = _interrupted(lambda: keyed(site), clock, mark)
    restarted.tick(threading.Event())
    [row] = store.deliveries(restarted.engine)
    assert row.status == "sent" and published(net) == []
    assert len(comments(net)) == (1 if again else 0)
    assert (row.comment_url is not None) == again
    assert again or "interrupted while adding it" in (row.reason or "")

"""The posting queue: `queue = true` takes each account's next free slot, in calendar order,
sharing the slots with feed items; `upcoming` shows the slots; bad combinations are errors."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crosspost import store
from crosspost.cli.main import main
from crosspost.service.runtime import Runtime
from crosspost.timeutil import ManualClock

_TODAY = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
MONDAY = _TODAY + timedelta(days=7 - _TODAY.weekday())  # next week's: `upcoming` sees it
SLOTS = (
    '\n[accounts.slotted]\nnetwork = "outbox"\npath = "var/outbox"\n'
    'slots = ["daily 09:00", "daily 17:00"]\n'
)


def queued(post_id: str, accounts: str = '"slotted"') -> str:
    return (
        f'\n[[post]]\nid = "{post_id}"\nqueue = true\naccounts = [{accounts}]\ntext = "{post_id}"\n'
    )


def due(runtime: Runtime) -> dict[str, datetime]:
    return {d.post_id: d.due_at for d in store.deliveries(runtime.engine) if d.status == "queued"}


def test_queued_posts_take_the_next_free_slots_in_calendar_order(
    make_site, tmp_path: Path, capsys
) -> None:
    clock = ManualClock(MONDAY)
    config = make_site(queued("first") + queued("second"), extra=SLOTS)
    runtime = Runtime(config, clock)
    assert due(runtime) == {"first": MONDAY.replace(hour=9), "second": MONDAY.replace(hour=17)}
    # a feed item already waits for Tuesday 09:00: a queued post added now takes 17:00
    tuesday_9 = MONDAY.replace(hour=9) + timedelta(days=1)
    store.insert_new(runtime.engine, [{
        "key": "feed:blog|abc|slotted", "source": "feed", "post_id": "feed:blog",
        "occurrence": "abc", "account": "slotted", "due_at": tuesday_9, "status": "queued",
        "next_attempt_at": tuesday_9, "attempts": 0, "updated_at": clock(),
        "payload": '{"title": "From the blog", "link": "https://acme.test/b"}',
    }])  # fmt: skip
    calendar = tmp_path / "calendar.toml"
    calendar.write_text(calendar.read_text() + queued("third"))
    runtime.reload()
    assert due(runtime)["third"] == MONDAY.replace(hour=17) + timedelta(days=1)
    assert main(["-c", str(config), "upcoming", "--days", "10"]) == 0
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    lines = [line for line in capsys.readouterr().out.splitlines() if line[:3] in days]
    monday, tuesday = f"{MONDAY:%Y-%m-%d}", f"{tuesday_9:%Y-%m-%d}"
    assert [line.split()[:4] for line in lines] == [
        ["Mon", monday, "09:00", "first"],
        ["Mon", monday, "17:00", "second"],
        ["Tue", tuesday, "09:00", "feed:blog"],
        ["Tue", tuesday, "17:00", "third"],
    ]
    assert "From the blog" in lines[2]
    clock.set(MONDAY.replace(hour=9))
    runtime.tick(threading.Event())
    sent = [p.name for p in (tmp_path / "var/outbox/slotted").iterdir()]
    assert sent == ["first_queue_slotted.txt"]


def test_a_post_given_a_time_again_leaves_the_queue(make_site, tmp_path: Path) -> None:
    clock = ManualClock(MONDAY)
    config = make_site(queued("moved"), extra=SLOTS)
    runtime = Runtime(config, clock)
    calendar = tmp_path / "calendar.toml"
    noon = f"at = {MONDAY.replace(hour=12):%Y-%m-%dT%H:%M:%SZ}"
    calendar.write_text(calendar.read_text().replace("queue = true", noon))
    runtime.reload()
    rows = {d.occurrence: d.status for d in store.deliveries(runtime.engine)}
    assert rows == {"queue": "cancelled"}
    clock.set(MONDAY + timedelta(hours=4))
    runtime.tick(threading.Event())
    assert {d.occurrence: d.status for d in store.deliveries(runtime.engine)} == {
        "queue": "cancelled", "once": "sent"}  # fmt: skip
    # queued again once it went out at its time: it is not sent a second time
    calendar.write_text(queued("moved"))
    runtime.reload()
    assert {d.occurrence: d.status for d in store.deliveries(runtime.engine)} == {
        "queue": "cancelled", "once": "sent"}  # fmt: skip


def test_a_post_timed_then_queued_again_before_it_went_out_gets_a_slot(make_site, tmp_path) -> None:
    clock = ManualClock(MONDAY)
    config = make_site(queued("undecided"), extra=SLOTS)
    runtime = Runtime(config, clock)
    calendar = tmp_path / "calendar.toml"
    timed = f"at = {MONDAY.replace(hour=12):%Y-%m-%dT%H:%M:%SZ}"
    calendar.write_text(queued("undecided").replace("queue = true", timed))
    runtime.reload()
    calendar.write_text(queued("undecided"))
    runtime.reload()
    assert due(runtime) == {"undecided": MONDAY.replace(hour=9)}


def test_queue_with_a_time_or_on_an_account_without_slots_is_an_error(make_site, capsys) -> None:
    bad = queued("both").replace("queue = true", "queue = true\nat = 2026-03-02T12:00:00Z")
    config = make_site(bad + queued("nowhere", '"box"'), extra=SLOTS)
    assert main(["-c", str(config), "check"]) == 1
    out = capsys.readouterr().out
    assert ("[post.queue] error: queue = true takes each account's next free slot: remove "
            "`at`, or remove queue") in out  # fmt: skip
    assert "[post.queue] error: account 'box' has no slots for a queued post" in out

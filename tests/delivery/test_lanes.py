"""One lane per account: a slow or hanging network delays only its own account; an
account's deliveries still go one at a time, in order; at most `[daemon] lanes` at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from daemon_harness import Daemon, outbox, post, wait_for

from crosspost import store
from crosspost.service.runtime import Runtime


def at_9(post_id: str, accounts: str) -> str:
    return f'[[post]]\nid = "{post_id}"\nat = 2026-03-02T09:00:00Z\naccounts = [{accounts}]\n'


def calendar(*entries: tuple[str, str]) -> str:
    return "\n".join(
        at_9(post_id, accounts) + f'text = "{post_id}"\n' for post_id, accounts in entries
    )


def more_accounts(path, names: list[str], net_url: str) -> None:  # type: ignore[no-untyped-def]
    tables = "".join(
        f'\n[accounts.{name}]\nnetwork = "testnet"\nvoice = "plain"\napi_base_url = "{net_url}"\n'
        for name in names
    )
    path.write_text(path.read_text() + tables)
    secrets = path.parent / "secrets.toml"
    extra = "".join(f'[accounts.{name}]\ntoken = "tok-{name}"\n' for name in names)
    secrets.write_text(secrets.read_text() + extra)


def status(runtime: Runtime) -> dict[str, str]:
    return {f"{d.post_id}/{d.account}": d.status for d in store.deliveries(runtime.engine)}


def test_a_hanging_network_delays_only_its_own_account(make_site, net, clock) -> None:
    net.script = [(200, {}, None, 3.0)]  # the network takes 3 s to answer the first post
    entries = [("slow", '"net"'), ("a", '"box"'), ("b", '"box"'), ("c", '"box"')]
    runtime = Runtime(make_site(calendar(*entries), net_url=net.url, net_timeout=10), clock)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    began = time.monotonic()
    ticking = threading.Thread(target=runtime.tick, args=(threading.Event(),))
    ticking.start()  # a tick that waits for every lane, as `run --once` does
    wait_for(lambda: sum(s == "sent" for s in status(runtime).values()) == 3)
    took = time.monotonic() - began
    assert status(runtime)["slow/net"] == "sending" and took < 1.5, (status(runtime), took)
    ticking.join(10)
    assert status(runtime)["slow/net"] == "sent"


def test_one_account_publishes_one_delivery_at_a_time_in_order(make_site, net, clock) -> None:
    net.default = (200, {}, None, 0.3)
    entries = [(f"p{n}", '"net"') for n in range(4)]
    runtime = Runtime(make_site(calendar(*entries), net_url=net.url), clock)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    runtime.tick(threading.Event(), wait=False)
    time.sleep(0.1)  # the first is on its way (real time: the network's answer is slow)
    assert sorted(status(runtime).values()) == ["queued", "queued", "queued", "sending"]
    runtime.dispatcher.lanes.wait_idle(10)
    runtime.tick(threading.Event())  # a tick that waits: the rest, one after the other
    assert [p["parts"] for p in net.posts()] == [[f"p{n}"] for n in range(4)]
    assert set(status(runtime).values()) == {"sent"}


def test_at_most_lanes_accounts_publish_at_once(make_site, net, clock) -> None:
    net.default = (200, {}, None, 0.5)
    path = make_site(calendar(*[(f"p{n}", f'"net", "n{n}"') for n in range(3)]), net_url=net.url)
    more_accounts(path, ["n0", "n1", "n2"], net.url)
    path.write_text(path.read_text().replace('catch_up = "2h"', 'catch_up = "2h"\nlanes = 2'))
    runtime = Runtime(path, clock)
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    runtime.tick(threading.Event(), wait=False)
    time.sleep(0.2)
    assert list(status(runtime).values()).count("sending") == 2
    runtime.dispatcher.lanes.wait_idle(10)
    runtime.tick(threading.Event())
    assert set(status(runtime).values()) == {"sent"} and len(net.posts()) == 6


def test_the_daemon_sends_on_time_beside_a_hung_network(make_site, net, tmp_path) -> None:
    """The real daemon: one network hangs 20 s; the outbox's post, due during the hang, is
    written on time, and the hung one is not duplicated."""
    net.script = [(200, {}, None, 20.0)]
    now = datetime.now(UTC)
    calendar_text = post("hung", now, accounts='"net"') + post(
        "ontime", now + timedelta(seconds=4), accounts='"box"'
    )
    path = make_site(calendar_text, net_url=net.url, net_timeout=30)
    daemon = Daemon(path, tmp_path)
    try:
        daemon.messages("READY=1")
        wait_for(lambda: outbox(tmp_path) == ["ontime_once_box.txt"], timeout=15)
        written = (tmp_path / "var" / "outbox" / "box" / "ontime_once_box.txt").stat().st_mtime
        due = (now + timedelta(seconds=4)).replace(microsecond=0).timestamp()
        assert written - due < 1.0, written - due
        assert len(net.posts()) == 1  # still hanging, not sent again
    finally:
        daemon.stop()

"""Unknown outcomes are settled, not left to a person: reconcile after a lost answer, after a
crash, and after a peer daemon died holding a claim."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime, timedelta

import pytest
from daemon_harness import Daemon, history, wait_for

from crosspost import store
from crosspost.delivery import claims
from crosspost.service.runtime import LEASE, Runtime
from crosspost.testing import CLOSE, RESET

DUE = '[[post]]\nid = "p"\nat = 2026-03-02T09:00:00Z\naccounts = [{accounts}]\ntext = "Hi"\n'


def tick(runtime: Runtime) -> None:
    runtime.tick(threading.Event())


@pytest.mark.parametrize("kind", [RESET, CLOSE], ids=["reset", "closed"])
def test_a_lost_answer_is_reconciled_at_once(make_site, net, clock, kind) -> None:
    runtime = Runtime(make_site(DUE.format(accounts='"net"'), net_url=net.url), clock)
    net.fault("POST", "/posts", kind)  # stored by the network, then the answer is lost
    clock.set(clock().replace(hour=9))
    tick(runtime)
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and row.remote_url == "https://testnet.invalid/p/1"
    assert len(net.posts()) == 1  # published once: found, not retried


def test_a_request_refused_before_it_left_is_an_ordinary_retry(make_site, clock) -> None:
    from crosspost.testing.contract import closed_port_url

    path = make_site(DUE.format(accounts='"net"'), net_url=closed_port_url())
    runtime = Runtime(path, clock)
    clock.set(clock().replace(hour=9))
    tick(runtime)
    [row] = store.deliveries(runtime.engine)
    assert row.status == "queued" and "nothing was sent" in (row.reason or "")


def _interrupted(runtime: Runtime, worker: str, account: str, now: datetime) -> store.Delivery:
    """A delivery as a crashed daemon leaves it: claimed, its parts recorded, never finished."""
    store.insert_new(
        runtime.engine,
        [
            {
                "key": f"p|once|{account}",
                "post_id": "p",
                "occurrence": "once",
                "account": account,
                "due_at": now,
                "next_attempt_at": now,
                "status": "queued",
                "updated_at": now,
            }
        ],
    )
    row = claims.claim(runtime.engine, now, worker)
    assert row is not None
    store.set_status(
        runtime.engine, store.columns.id == row.id, now, parts=json.dumps(["Hi"]), text="Hi"
    )
    return row


def test_after_a_crash_the_network_is_asked_before_in_doubt(make_site, net, clock) -> None:
    import socket

    path = make_site(DUE.format(accounts='"net", "box"'), net_url=net.url)
    first = Runtime(path, clock)
    dead = f"{socket.gethostname()}:999999"  # a pid no process has
    found = _interrupted(first, dead, "net", clock())
    net.published[found.key] = {"id": "77", "url": "https://testnet.invalid/p/77"}
    _interrupted(first, dead, "box", clock())  # the outbox: not written yet
    restarted = Runtime(path, clock)
    tick(restarted)
    rows = {r.account: r for r in store.deliveries(restarted.engine)}
    assert rows["net"].status == "sent" and rows["net"].remote_url.endswith("/p/77")
    assert rows["box"].status == "sent"  # not found, but the outbox is idempotent: sent again
    assert net.posts() == []  # nothing posted twice


def test_a_crash_whose_post_is_not_on_the_network_sends_it_once(make_site, net, clock) -> None:
    import socket

    path = make_site(DUE.format(accounts='"net"'), net_url=net.url)
    runtime = Runtime(path, clock)
    _interrupted(runtime, f"{socket.gethostname()}:999999", "net", clock())
    restarted = Runtime(path, clock)
    tick(restarted)
    [row] = store.deliveries(runtime.engine)
    assert row.status == "queued" and row.recheck  # not there: again, after a second look
    clock.advance(timedelta(hours=1))
    tick(restarted)
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and len(net.posts()) == 1


def test_a_crash_the_network_cannot_settle_is_in_doubt(make_site, net, clock) -> None:
    import socket

    path = make_site(DUE.format(accounts='"net"'), net_url=net.url)
    runtime = Runtime(path, clock)
    _interrupted(runtime, f"{socket.gethostname()}:999999", "net", clock())
    net.script = [(500, {}, {"error": "down"}, 0)]  # the lookup itself fails
    tick(Runtime(path, clock))
    [row] = store.deliveries(runtime.engine)
    assert row.status == "in_doubt" and "could not be asked" in (row.reason or "")
    assert f"crosspost resolve {row.id}" in (row.reason or "")


def test_a_recheck_the_network_never_answers_ends_in_doubt_not_failed(
    make_site, net, clock
) -> None:
    """Out of attempts while the network cannot say whether the last one arrived: the post
    may be there, so a person decides; `failed` would invite a retry that posts twice."""
    path = make_site(DUE.format(accounts='"net"'), net_url=net.url)
    path.write_text(
        path.read_text().replace('catch_up = "2h"', 'catch_up = "2h"\nmax_attempts = 2')
    )
    runtime = Runtime(path, clock)
    now = clock()
    row = {"key": "p|once|net", "post_id": "p", "occurrence": "once", "account": "net"}
    row |= {"due_at": now, "next_attempt_at": now, "status": "queued", "updated_at": now}
    row |= {"attempts": 1, "recheck": True}  # the first answer was lost, and not settled
    store.insert_new(runtime.engine, [row])
    net.script = [(500, {}, {"error": "down"}, 0)]  # the lookup before sending again fails
    tick(runtime)
    [done] = store.deliveries(runtime.engine)
    assert done.status == "in_doubt" and "after 2 attempts" in (done.reason or ""), done
    assert f"crosspost resolve {done.id}" in (done.reason or "") and net.posts() == []


def test_a_kill_during_a_publish_is_reconciled_at_restart(make_site, net, tmp_path) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    net.script = [(200, {}, None, 30.0)]  # stored at once, answered never (within the kill)
    path = make_site(
        DUE.format(accounts='"net"').replace("2026-03-02T09:00:00Z", now), net_url=net.url
    )
    daemon = Daemon(path, tmp_path)
    daemon.messages("READY=1")
    wait_for(lambda: any(r["path"] == "/posts" for r in net.requests))
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(10)
    again = Daemon(path, tmp_path)
    try:
        again.messages("READY=1")
        wait_for(lambda: "sent" in history(path))
        assert len(net.posts()) == 1 and "https://testnet.invalid/p/1" in history(path)
    finally:
        again.stop()


@pytest.mark.postgres
def test_a_dead_peers_claim_is_recovered_by_another_daemon_after_the_lease(
    make_site, net, clock, pg_url, tmp_path
) -> None:
    path = make_site(DUE.format(accounts='"net"'), net_url=net.url, database=pg_url)
    survivors = [Runtime(path, clock), Runtime(path, clock)]
    held = _interrupted(survivors[0], "other-host:4242", "net", clock())  # dead, elsewhere
    net.published[held.key] = {"id": "5", "url": "https://testnet.invalid/p/5"}
    clock.advance(LEASE - timedelta(seconds=1))
    for runtime in survivors:
        tick(runtime)
    assert store.deliveries(survivors[0].engine)[0].status == "sending"  # lease still runs
    clock.advance(timedelta(seconds=2))
    settled = [runtime.recover_interrupted() for runtime in survivors]
    assert sorted(settled) == [0, 1]  # exactly one daemon settles it
    [row] = store.deliveries(survivors[0].engine)
    assert row.status == "sent" and row.remote_url.endswith("/p/5") and net.posts() == []


def test_a_daemon_wakes_when_a_peers_claim_runs_out(make_site, net, clock) -> None:
    """Without this wake-up, a claim left by a dead daemon elsewhere waited for an idle tick."""
    path = make_site("", net_url=net.url)  # nothing planned: only the claim wakes it
    path.write_text(path.read_text().replace('catch_up = "2h"', 'catch_up = "2h"\nlease = "30s"'))
    runtime = Runtime(path, clock)
    clock.set(clock().replace(hour=9))
    held = _interrupted(runtime, "other-host:4242", "net", clock())
    net.published[held.key] = {"id": "5", "url": "https://testnet.invalid/p/5"}
    assert runtime.next_wake() == clock() + timedelta(seconds=30, milliseconds=50)
    clock.advance(timedelta(seconds=31))
    assert runtime.recover_interrupted() == 1
    [row] = store.deliveries(runtime.engine)
    assert row.status == "sent" and runtime.next_wake() is None


BLIND = """
from typing import Any, ClassVar
from pydantic import BaseModel
from crosspost.adapter import OutgoingPost, Receipt
from crosspost.render.textrules import TextRules

class NoKeys(BaseModel):
    pass


class Blind:  # an adapter that cannot look a post up (no reconcile)
    network: ClassVar[str] = "blind"
    settings_model = NoKeys

    def __init__(self, account: Any) -> None:
        self.rules = TextRules(limit=500)

    def verify(self) -> str:
        return "@blind"

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        raise AssertionError("not called here")
"""


@pytest.mark.parametrize(
    ("account", "status", "says"),
    [
        ("net", "queued", "the network is asked before it goes again"),
        ("blind", "in_doubt", "crosspost resolve 1 --sent URL | --not-sent"),
    ],
)
def test_a_publish_abandoned_at_shutdown_is_looked_up_when_the_network_can_be_asked(
    make_site, net, clock, tmp_path, account, status, says
) -> None:
    from crosspost.delivery.lanes import InFlight

    (tmp_path / "blind.py").write_text(BLIND)
    path = make_site("", net_url=net.url, extra='\n[accounts.blind]\nnetwork = "blind"\n')
    text = path.read_text().replace(
        "[adapters]\n", f'[adapters]\nblind = "{tmp_path}/blind.py:Blind"\n'
    )
    path.write_text(text)
    runtime = Runtime(path, clock)
    row = _interrupted(runtime, runtime.worker, account, clock())
    hung = threading.Event()
    runtime.dispatcher.lanes.start(InFlight(row, clock()), hung.wait)  # a publish that hangs
    assert runtime.dispatcher.abandon_in_flight(runtime.setup) == [row]
    hung.set()
    [after] = store.deliveries(runtime.engine)
    assert after.status == status and says in (after.reason or ""), after
    assert after.recheck == (status == "queued")


def test_our_own_pid_is_a_dead_process_only_at_the_first_recovery(make_site, net, clock) -> None:
    """In a container the daemon is pid 1 at every start: a claim under our pid found at
    start is an earlier process's; found later, it is our own publish in flight."""
    runtime = Runtime(make_site("", net_url=net.url), clock)
    held = _interrupted(runtime, runtime.worker, "net", clock())
    net.published[held.key] = {"id": "9", "url": "https://testnet.invalid/p/9"}
    assert runtime.recover_interrupted() == 1
    _interrupted(runtime, runtime.worker, "box", clock())  # now: in flight in this process
    assert runtime.recover_interrupted() == 0
    assert {r.account: r.status for r in store.deliveries(runtime.engine)} == {
        "net": "sent",
        "box": "sending",
    }

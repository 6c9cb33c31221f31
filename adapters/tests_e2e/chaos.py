"""The fault run shared by the test suite (small) and `make chaos` (full size).

Every network's stand-in (X, a Facebook Page, Instagram, LinkedIn, Mastodon, Bluesky,
Threads) plus the outbox, one calendar post per batch to all eight accounts, about 30% of
publishing requests faulted in the five ways a network fails (see
`crosspost.testing.faults`). The run ends when nothing is queued or sending. `verdict`
then compares what each network stored (its ledger) with what crosspost believes (its
deliveries): every delivery is on its network exactly once and
`sent` with that post's id, or `failed` with a reason and on no network; none is `in_doubt`
(every stand-in can be asked); no request came before a rate limit's reset.

Time is a manual clock that the stand-ins share, so backoffs and rate limits cost nothing;
only slow answers take real time (they must outlast the client's timeout).
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in ("x", "facebook", "linkedin", "mastodon", "bluesky", "threads"):
    sys.path.insert(0, str(HERE.parent / folder / "tests"))

from fakebluesky import PASSWORD, FakeBluesky  # noqa: E402
from fakelinkedin import FakeLinkedIn  # noqa: E402 - each network's documented stand-in
from fakemastodon import TOKEN as MASTODON_TOKEN  # noqa: E402
from fakemastodon import FakeMastodon  # noqa: E402
from fakemeta import FakeGraph, FakeInstagram  # noqa: E402
from fakethreads import TOKEN as THREADS_TOKEN  # noqa: E402
from fakethreads import USER as THREADS_USER  # noqa: E402
from fakethreads import FakeThreads  # noqa: E402
from fakex import OAUTH1, FakeX  # noqa: E402

from crosspost import logs, store  # noqa: E402
from crosspost.service.runtime import Runtime  # noqa: E402
from crosspost.testing import FaultPlan, ScriptedHTTPServer  # noqa: E402
from crosspost.timeutil import ManualClock  # noqa: E402

NETWORKS = ("x", "fb", "ig", "li", "ma", "bs", "th")
ACCOUNTS = "[" + ", ".join(f'"{name}"' for name in ("box", *NETWORKS)) + "]"
TIMEOUT = 1.0  # each adapter's client timeout; a slow answer comes after it


@dataclass
class Outcome:
    deliveries: int
    sent: int
    failed: int
    in_doubt: int
    faults: int
    problems: list[str]
    seconds: float


def _config(servers: dict[str, ScriptedHTTPServer]) -> str:
    return f"""
[daemon]
timezone = "UTC"
calendars = ["calendar.toml"]
secrets = "secrets.toml"
catch_up = "1d"
max_attempts = 12

[voices.plain]
template = "{{{{ text }}}}"
overflow = "reject"

[accounts.box]
network = "outbox"
voice = "plain"

[accounts.x]
network = "x"
voice = "plain"
api_base_url = "{servers["x"].url}"
timeout = {TIMEOUT}

[accounts.fb]
network = "facebook"
voice = "plain"
page_id = "123"
api_base_url = "{servers["fb"].url}"
timeout = {TIMEOUT}

[accounts.ig]
network = "instagram"
voice = "plain"
ig_user_id = "178"
media_base_url = "https://bakery.example/media"
api_base_url = "{servers["ig"].url}"
timeout = {TIMEOUT}

[accounts.li]
network = "linkedin"
voice = "plain"
author = "urn:li:organization:42"
api_base_url = "{servers["li"].url}"
timeout = {TIMEOUT}

[accounts.ma]
network = "mastodon"
voice = "plain"
api_base_url = "{servers["ma"].url}"
media_check_seconds = 1
timeout = {TIMEOUT}

[accounts.bs]
network = "bluesky"
voice = "plain"
handle = "acme.bsky.social"
service = "{servers["bs"].url}"
timeout = {TIMEOUT}

[accounts.th]
network = "threads"
voice = "plain"
threads_user_id = "{THREADS_USER}"
media_base_url = "https://bakery.example/media"
api_base_url = "{servers["th"].url}"
timeout = {TIMEOUT}
"""


SECRETS = (
    "[accounts.x]\n"
    + "".join(f'{key} = "{value}"\n' for key, value in OAUTH1.items())
    + '[accounts.fb]\npage_access_token = "EAA-chaos"\n'
    + '[accounts.ig]\npage_access_token = "EAA-chaos"\n'
    + '[accounts.li]\naccess_token = "AQV-chaos"\n'
    + f'[accounts.ma]\naccess_token = "{MASTODON_TOKEN}"\n'
    + f'[accounts.bs]\napp_password = "{PASSWORD}"\n'
    + f'[accounts.th]\naccess_token = "{THREADS_TOKEN}"\n'
)


def token(n: int) -> str:
    return f"chaos{n:04d}"


@contextmanager
def stand_ins() -> Iterator[dict[str, ScriptedHTTPServer]]:
    servers: dict[str, ScriptedHTTPServer] = {
        "x": FakeX(),
        "fb": FakeGraph(),
        "ig": FakeInstagram(),
        "li": FakeLinkedIn(),
        "ma": FakeMastodon(),
        "bs": FakeBluesky(),
        "th": FakeThreads(),
    }
    try:
        yield servers
    finally:
        for server in servers.values():
            server.close()


def run(folder: Path, posts: int, seed: int, rate: float = 0.3) -> Outcome:
    """Publish `posts` posts to the eight accounts under faults; say what went wrong."""
    logs.configure("logfmt", "warning", io.StringIO())
    started = time.monotonic()
    with stand_ins() as servers:
        clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
        for n, server in enumerate(servers.values()):
            server.plan = FaultPlan(rate=rate, seed=seed + n, slow_seconds=TIMEOUT + 0.3)
            server.clock = lambda: clock().timestamp()
        _write_site(folder, servers, posts, clock())
        runtime = Runtime(folder / "crosspost.toml", clock)
        _drain(runtime, clock)
        rows = list(store.deliveries(runtime.engine))
        problems = _verdict(rows, servers, folder, posts)
        faults = sum(len(server.ledger.faults) for server in servers.values())
    count = {status: sum(r.status == status for r in rows) for status in ("sent", "failed")}
    in_doubt = sum(r.status == "in_doubt" for r in rows)
    seconds = time.monotonic() - started
    return Outcome(len(rows), count["sent"], count["failed"], in_doubt, faults, problems, seconds)


def _write_site(
    folder: Path, servers: dict[str, ScriptedHTTPServer], posts: int, now: datetime
) -> None:
    (folder / "crosspost.toml").write_text(_config(servers))
    (folder / "secrets.toml").write_text(SECRETS)
    (folder / "secrets.toml").chmod(0o600)
    (folder / "bread.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 256)
    due = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    (folder / "calendar.toml").write_text(
        "".join(
            f'[[post]]\nid = "p{n}"\nat = {due}\naccounts = {ACCOUNTS}\n'
            f'text = "Fresh bread today, batch {token(n)}."\n'
            'images = [{ path = "bread.jpg", alt = "Loaves on the counter" }]\n\n'
            for n in range(posts)
        )
    )


def _drain(runtime: Runtime, clock: ManualClock) -> None:
    """Tick until nothing is queued or sending, moving the clock to each next wake-up."""
    stop = threading.Event()
    for _ in range(10_000):
        runtime.tick(stop)
        waiting = store.deliveries(runtime.engine, store.columns.status.in_(("queued", "sending")))
        if not waiting:
            return
        wake = runtime.next_wake()
        if wake is not None and wake > clock():
            clock.set(wake)
    raise AssertionError("the deliveries never settled")


def _verdict(
    rows: list[store.Delivery], servers: dict[str, ScriptedHTTPServer], folder: Path, posts: int
) -> list[str]:
    problems = []
    for row in rows:
        tag = token(int(row.post_id[1:]))
        if row.account == "box":
            files = list((folder / "var" / "outbox" / "box").glob(f"{row.post_id}_*.txt"))
            if row.status != "sent" or len(files) != 1:
                problems.append(f"outbox {row.post_id}: {row.status}, {len(files)} file(s)")
            continue
        ledger = servers[row.account].ledger
        copies = [post for post in ledger.accepted if tag in post.text]
        if row.status == "sent":
            if len(copies) != 1 or copies[0].remote_id != row.remote_id or not row.remote_url:
                problems.append(
                    f"{row.account} {row.post_id}: sent as {row.remote_id}, stored "
                    f"{[(c.remote_id, c.fault) for c in copies]}"
                )
        elif row.status == "failed":
            if copies or not row.reason:
                problems.append(f"{row.account} {row.post_id}: failed, stored {len(copies)}")
        else:
            problems.append(f"{row.account} {row.post_id}: left {row.status}: {row.reason}")
    for name, server in servers.items():
        if server.ledger.early:
            problems.append(f"{name}: requests before a rate limit's reset: {server.ledger.early}")
    expected = posts * (len(NETWORKS) + 1)
    if len(rows) != expected:
        problems.append(f"{len(rows)} deliveries, expected {expected}")
    return problems

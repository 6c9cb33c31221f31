"""Instagram's container wait, through the real daemon: each step is recorded, nothing else
waits on it, and a kill during the wait is resumed with the same container (not left
`in_doubt`, not published twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "facebook" / "tests"))
from fakemeta import FakeInstagram

CONFIG = """
[daemon]
timezone = "UTC"
state_dir = "var"
secrets = "secrets.toml"
calendars = ["calendar.toml"]
retry_backoff = "1s"  # a kill mid-step is looked up, then resent after the backoff

[accounts.ig]
network = "instagram"
ig_user_id = "178"
api_base_url = "{url}"
media_base_url = "https://acme.example/files"
container_wait = 120

[accounts.box]
network = "outbox"
"""


@pytest.fixture
def instagram() -> Iterator[FakeInstagram]:
    fake = FakeInstagram()
    yield fake
    fake.close()


def _site(tmp_path: Path, url: str) -> Path:
    (tmp_path / "crosspost.toml").write_text(CONFIG.format(url=url))
    (tmp_path / "secrets.toml").write_text('[accounts.ig]\npage_access_token = "EAA-secret"\n')
    (tmp_path / "secrets.toml").chmod(0o600)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "bread.jpg").write_bytes(b"\xff\xd8\xff\xe0bread")
    now = datetime.now(UTC)
    at = [(now + timedelta(seconds=s)).strftime("%Y-%m-%dT%H:%M:%SZ") for s in (-30, 3)]
    (tmp_path / "calendar.toml").write_text(
        f'[[post]]\nid = "bread"\nat = {at[0]}\ntext = "Rye today"\naccounts = ["ig"]\n'
        'images = [{ path = "img/bread.jpg", alt = "A rye loaf" }]\n\n'
        f'[[post]]\nid = "later"\nat = {at[1]}\ntext = "Open at 8"\naccounts = ["box"]\n'
    )
    return tmp_path / "crosspost.toml"


def _start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "crosspost", "-c", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "250"},
    )


def _wait(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _polls(fake: FakeInstagram) -> int:
    return sum("fields=status_code" in r["path"] for r in fake.requests)


def test_a_kill_during_the_container_wait_resumes_with_the_same_container(
    instagram: FakeInstagram, tmp_path: Path
) -> None:
    instagram.statuses = ["IN_PROGRESS"] * 1000  # Instagram keeps processing the image
    config = _site(tmp_path, instagram.url)
    daemon = _start(config)
    try:
        _wait(lambda: _polls(instagram) >= 2)  # made, recorded, and asked again after 2 s
        _wait(lambda: any((tmp_path / "var" / "outbox" / "box").glob("*.txt")))
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(10)
    assert instagram.forms("/v23.0/178/media_publish") == []  # the other post did not wait
    instagram.statuses = []  # the image is fetched now: FINISHED
    daemon = _start(config)
    try:
        _wait(lambda: bool(instagram.forms("/v23.0/178/media_publish")))
        _wait(lambda: "sent" in _history(config, "bread"))
    finally:
        daemon.send_signal(signal.SIGTERM)
        out = daemon.communicate(timeout=15)[0]
    made = [f for f in instagram.forms("/v23.0/178/media") if "image_url" in f]
    assert len(made) == 1, out  # one container, made before the kill, used after it
    assert instagram.forms("/v23.0/178/media_publish") == [{"creation_id": "c1"}]
    assert len(instagram.ledger.accepted) == 1
    assert "EAA-secret" not in out


def _history(config: Path, post: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "crosspost", "-c", str(config), "history"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "COLUMNS": "250"},
    )
    return "\n".join(line for line in result.stdout.splitlines() if post in line)

"""Downtime: what fell due while no daemon ran goes out late if it is late by less than
`catch_up`, and is recorded as `missed` (listed, logged with the command that sends it
anyway) if it is later than that. Real processes, real time, seconds-long settings."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from daemon_harness import Daemon, history, outbox, post, wait_for

CATCH_UP = 5.0


def test_downtime_shorter_and_longer_than_catch_up(make_site, tmp_path) -> None:
    path = make_site("")
    path.write_text(path.read_text().replace('catch_up = "2h"', f'catch_up = "{CATCH_UP:g}s"'))
    first = Daemon(path, tmp_path)
    first.messages("READY=1")
    code, _ = first.stop()
    stopped = datetime.now(UTC)
    assert code == 0
    (tmp_path / "calendar.toml").write_text(  # both fall due while nothing runs
        post("long", stopped + timedelta(seconds=0.2), text="Late by more than catch_up")
        + post("short", stopped + timedelta(seconds=CATCH_UP + 0.5), text="Late by less")
    )
    time.sleep(CATCH_UP + 1.5)  # the downtime (started again about 1.5 s later)
    again = Daemon(path, tmp_path)
    try:
        again.messages("READY=1")
        wait_for(lambda: len(outbox(tmp_path)) == 1)
    finally:
        again.stop()
    shown = history(path)
    assert outbox(tmp_path) == ["short_once_box.txt"]
    rows = {line.split()[3]: line.split()[5] for line in shown.splitlines()[2:]}
    assert rows == {"short": "sent", "long": "missed"}, shown
    assert f"catch_up is {CATCH_UP:g}s" in shown and "late by " in shown, shown
    logged = again.output()
    assert "delivery missed" in logged and "crosspost retry" in logged, logged

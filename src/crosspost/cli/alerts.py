"""`crosspost alerts test`: one test message to each alert target, to see it arrive.

It sends from this machine with the same URLs the daemon uses (the secrets file's, or the
config's) and says for each target whether the service took it, and why not.
"""

from __future__ import annotations

import socket

from crosspost.alerts.send import send
from crosspost.service.assembly import Setup


def test_targets(setup: Setup) -> int:
    """Exit 0 when every target took its message, 1 otherwise (or when there is none)."""
    config = setup.config
    targets = config.alerts.targets
    if not targets:
        print(f"no alert targets in {config.path}: add [alerts.targets.NAME] (see "
              "config.example.toml)")  # fmt: skip
        return 1
    for problem in setup.problems:
        if problem.key.startswith("alerts."):
            print(problem)
    failed = 0
    for name, target in targets.items():
        url = setup.alert_urls.get(name)
        if url is None:
            print(f"{name}: NOT SENT: its URL is unusable (see above)")
            failed += 1
            continue
        events = ", ".join(target.events)
        body = (f"This is a test from crosspost on {socket.gethostname()}. This target "
                f"receives: {events}.\n\nNothing needs doing.")  # fmt: skip
        error = send(url, "crosspost: test alert", body)
        print(f"{name}: sent" if not error else f"{name}: NOT SENT: {error}")
        failed += bool(error)
    return 1 if failed else 0

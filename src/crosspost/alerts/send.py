"""Sending one message to one alert URL through apprise, bounded in time.

apprise speaks each service's protocol (SMTP, Slack's webhooks, ntfy, Matrix…), which is
why crosspost does not: the daemon only calls it, off the publishing threads, and waits at
most `TIMEOUT`. What apprise logs about a failure becomes the reason, with every secret
redacted, since a mail server's refusal may quote the login.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from crosspost.logs import REDACTOR

TIMEOUT = 30.0  # seconds for one send, whatever the service; SMTP alone may take 15 to connect


def send(
    url: str, title: str, body: str, timeout: float = TIMEOUT, attach: Sequence[str] = ()
) -> str:
    """Send it; "" when the service took it, else why not (one line, secrets redacted).
    `attach`: files to send with it, where the service takes attachments (e-mail, Slack,
    Matrix...); elsewhere apprise sends the message alone."""
    outcome: list[str] = []
    worker = threading.Thread(
        target=lambda: outcome.append(_notify(url, title, body, attach)),
        name="alert-send",
        daemon=True,
    )
    worker.start()
    worker.join(timeout)
    if worker.is_alive():  # left to finish or fail on its own; it holds nothing of ours
        return f"no answer within {timeout:g} s"
    return outcome[0] if outcome else "the alert sender stopped unexpectedly"


def _notify(url: str, title: str, body: str, attach: Sequence[str] = ()) -> str:
    import apprise

    logging.getLogger("apprise").setLevel(logging.WARNING)  # "Notifying 1 service(s)." is noise
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return "apprise cannot use this URL (run crosspost check)"
    try:
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            files = apprise.AppriseAttachment(list(attach)) if attach else None
            ok = notifier.notify(
                body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN, attach=files
            )
            said = captured.getvalue() if hasattr(captured, "getvalue") else ""
    except Exception as exc:  # a plugin's own bug must not reach the worker
        return REDACTOR.scrub(f"{type(exc).__name__}: {exc}")
    if ok:
        return ""
    lines = [line.split(" - ", 2)[-1] for line in said.strip().splitlines() if line.strip()]
    return REDACTOR.scrub("; ".join(lines[-3:]) or "the service refused it (no reason given)")

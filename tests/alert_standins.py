"""Stand-ins for the services alerts go to, over real sockets, written from their
documentation rather than from crosspost's code:

* `HookServer`: a webhook taking apprise's JSON notification (apprise wiki, "Notify_Custom_JSON":
  POST of {"version": "1.0", "title", "message", "attachments", "type"}), answering 200,
  or what a test scripts (a 500, a delay that outlasts the sender's timeout);
* `MailServer`: an SMTP server (RFC 5321, aiosmtpd) keeping each message it accepts.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from crosspost.testing import ScriptedHTTPServer
from crosspost.testing.server import Answer


class HookServer(ScriptedHTTPServer):
    def default_answer(self, method: str, path: str) -> Answer:
        return (200, {}, {"ok": True}, 0.0) if method == "POST" else (405, {}, None, 0.0)

    def notifications(self) -> list[dict[str, Any]]:
        """What apprise posted, oldest first."""
        return [json.loads(r["body"]) for r in self.requests if r["method"] == "POST"]

    def hook_url(self, path: str = "/hook") -> str:
        """The apprise URL of this webhook."""
        return self.url.replace("http://", "json://") + path


class MailServer:
    def __init__(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.received: list[EmailMessage] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                outer.received.append(message)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "boss@acme.test") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=crosspost@acme.test&to={to}&mode=insecure"

    def close(self) -> None:
        self.controller.stop()

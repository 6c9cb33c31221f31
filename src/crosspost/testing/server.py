"""A scripted HTTP stand-in on 127.0.0.1, the base of every network's stand-in.

Each test scripts the next answers; when the script runs out, `default_answer` (or a
stand-in's own `respond`) says what the network's API returns. A stand-in names the requests
that publish (`publishing`); with a `plan` (`faults.FaultPlan`) those fail as the plan says,
and a stand-in that stores a post tells its `ledger`. Rate limits are stated in the
network's own terms (`rate_limit_answer`), and any publishing request before the reset is
counted. Time is the stand-in's `clock` (epoch seconds), which a test can drive.
"""

from __future__ import annotations

import email.utils
import json
import math
import socket
import struct
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from crosspost.testing.faults import FaultPlan, Ledger

Answer = tuple[int, dict[str, str], Any, float]
"""(status, headers, body, delay in seconds). A body of bytes is sent as is, None as
nothing, anything else as JSON. Two statuses are faults instead of answers, after the whole
request was read (so the network may have acted on it): `RESET` resets the connection, and
`CLOSE` closes it without a byte of answer."""

RESET = -1
CLOSE = -2


class _Server(ThreadingHTTPServer):
    """A listen backlog for many accounts at once: with the standard library's 5, a burst
    of connections overflows it and the kernel drops SYNs, which clients resend after 1, 3,
    7, 15 s (a 22 s stall was measured with 50 lanes)."""

    request_queue_size = 256


class ScriptedHTTPServer:
    publishing: ClassVar[tuple[tuple[str, str], ...]] = ()  # (method, path prefix) that post

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[str, str, int]] = []  # (method, path prefix, RESET or CLOSE)
        self.plan: FaultPlan | None = None
        self.ledger = Ledger()
        self.clock: Callable[[], float] = time.time
        self.blocked_until = 0.0  # a rate limit's reset, in the stand-in's clock
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": raw,
                }
                with server.lock:
                    server.requests.append(request)
                    scripted = server._take_fault(self.command, self.path)
                    if scripted is None and server.script:
                        scripted = server.script.pop(0)
                    planned = server._planned(request) if scripted is None else None
                status, headers, body, delay = planned or server.respond(request, scripted)
                if request.get("fault") == "slow":
                    delay += server.plan.slow_seconds if server.plan else 0
                if request.get("fault") == "lost":
                    status = CLOSE
                if delay:
                    time.sleep(delay)  # the network being slow, not the test waiting
                if status in (RESET, CLOSE):
                    self._fault(status)
                    return
                if body is None:
                    data = b""
                else:
                    data = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _fault(self, status: int) -> None:
                if status == RESET:  # linger 0: close sends RST, the client sees a reset
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                self.close_connection = True
                self.connection.close()

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def date_time_string(self, timestamp: float | None = None) -> str:
                """The Date header in the stand-in's clock, as a server's own time: a
                client that corrects rate-limit resets by it (Mastodon.py) must agree."""
                return email.utils.formatdate(server.clock(), usegmt=True)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def _planned(self, request: dict[str, Any]) -> Answer | None:
        """For a publishing request: note one that comes before a rate limit's reset, draw
        its fault, and answer those that store nothing (the others are answered by `respond`,
        then delayed or dropped)."""
        method, path = request["method"], request["path"]
        if not any(method == m and path.startswith(p) for m, p in self.publishing):
            return None
        now = self.clock()
        if now < self.blocked_until:
            self.ledger.early.append((len(self.requests), now, self.blocked_until))
        if self.plan is None:
            return None
        ordinal, kind = self.plan.draw()
        if kind is None:
            return None
        self.ledger.faults.append((ordinal, kind, path))
        request["fault"] = kind
        if kind == "error":
            return self.error_answer()
        if kind == "rate_limit":
            self.blocked_until = math.ceil(now + self.plan.rate_limit_seconds)
            return self.rate_limit_answer(self.blocked_until)
        if kind == "reset":
            return RESET, {}, None, 0.0
        return None  # slow, lost: the network stores the post, the answer is late or lost

    def error_answer(self) -> Answer:
        """The network's server error (a stand-in may word it its own way)."""
        return 503, {}, {"error": "Service Unavailable"}, 0.0

    def rate_limit_answer(self, reset: float) -> Answer:
        """The network's rate limit, with its reset (epoch seconds, the stand-in's clock)."""
        return 429, {"Retry-After": str(max(math.ceil(reset - self.clock()), 1))}, {}, 0.0

    def fault(self, method: str, path_prefix: str, kind: int) -> None:
        """Answer the next `method` request whose path starts with `path_prefix` with the
        fault `kind` (RESET or CLOSE), after reading it whole."""
        self.faults.append((method, path_prefix, kind))

    def _take_fault(self, method: str, path: str) -> Answer | None:
        for index, (wanted, prefix, kind) in enumerate(self.faults):
            if wanted == method and path.startswith(prefix):
                del self.faults[index]
                return kind, {}, None, 0.0
        return None

    def respond(self, request: dict[str, Any], scripted: Answer | None) -> Answer:
        """The answer to one request (method, path, headers, body); stand-ins that look at
        headers or bodies override this, others `answer` or `default_answer`."""
        return self.answer(request["method"], request["path"], scripted)

    def answer(self, method: str, path: str, scripted: Answer | None) -> Answer:
        """The scripted answer if there is one, else the stand-in API's default."""
        return scripted if scripted is not None else self.default_answer(method, path)

    def default_answer(self, method: str, path: str) -> Answer:
        return 404, {}, {"error": f"nothing at {method} {path}"}, 0.0

    def json_bodies(self, method: str, path: str) -> list[Any]:
        """The JSON bodies of the requests made to `method path`."""
        return [
            json.loads(r["body"])
            for r in self.requests
            if r["method"] == method and r["path"] == path
        ]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

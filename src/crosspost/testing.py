"""Test helpers shipped with crosspost, for its own tests and for every adapter's.

`ScriptedHTTPServer` is a real HTTP server on 127.0.0.1: adapters are tested through their
real HTTP code against it (mock at the socket, not inside the code). Each test scripts the
next answers; when the script runs out, `default_answer` says what the stand-in API returns.
It binds only to the loopback interface and is never used by the daemon.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = tuple[int, dict[str, str], Any, float]
"""(status, headers, body, delay in seconds). A body of bytes is sent as is, None as
nothing, anything else as JSON. Two statuses are faults instead of answers, after the whole
request was read (so the network may have acted on it): `RESET` resets the connection, and
`CLOSE` closes it without a byte of answer."""

RESET = -1
CLOSE = -2


class ScriptedHTTPServer:
    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[str, str, int]] = []  # (method, path prefix, RESET or CLOSE)
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
                status, headers, body, delay = server.respond(request, scripted)
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

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

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

"""A local HTTP server for feeds: ETag/Last-Modified, errors, slow and endless bodies."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FEEDS = Path(__file__).resolve().parent / "feeds"


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                route = server.routes.get(self.path.split("?")[0], {"status": 404})
                server.requests.append({"path": self.path, "headers": dict(self.headers)})
                if route.get("delay"):
                    time.sleep(route["delay"])
                if route.get("endless"):
                    return self._endless()
                if route.get("drip"):
                    return self._drip(route["drip"])
                body: bytes = route.get("body", b"")
                etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'
                if route.get("etag", True) and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if route.get("gzip"):
                    body = gzip.compress(body)
                self.send_response(route.get("status", 200))
                for name, value in route.get("headers", {}).items():
                    self.send_header(name, value)
                if route.get("gzip"):
                    self.send_header("Content-Encoding", "gzip")
                if route.get("etag", True):
                    self.send_header("ETag", etag)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return None

            def _endless(self) -> None:
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"<rss>" + b"x" * 4096
                try:
                    for _ in range(100_000):  # bounded: ~400 MB at most, the client stops first
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _drip(self, every: float) -> None:
                """Headers one byte at a time: every read succeeds, the answer never ends."""
                try:
                    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100_000:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(every)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def serve(self, path: str, body: bytes | str = b"", **options: Any) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = {"body": data, **options}
        return self.url + path

    def serve_file(self, path: str, name: str, **options: Any) -> str:
        return self.serve(path, (FEEDS / name).read_bytes(), **options)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def rss(*items: tuple[str, str, str], title: str = "Blog") -> str:
    """An RSS 2.0 feed of (guid, title, link) items, newest first."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        + (f"<guid isPermaLink='false'>{guid}</guid>" if guid else "")
        + f"<pubDate>Mon, {2 + len(items) - n:02d} Mar 2026 09:00:00 GMT</pubDate></item>"
        for n, (guid, t, link) in enumerate(items)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>"
        f"<link>https://blog.example/</link><description>d</description>{body}</channel></rss>"
    )

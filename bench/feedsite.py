"""A local server of many feeds for the benchmarks: most answer 304, a few change each cycle."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def feed_xml(name: str, version: int, items: int = 10) -> bytes:
    entries = "".join(
        f"<item><title>{name} article {n}</title><link>https://blog.example/{name}/{n}</link>"
        f"<guid isPermaLink='false'>{name}-{n}</guid><description>&lt;p&gt;Article {n} of "
        f"{name}, with some text to read.&lt;/p&gt;</description>"
        f"<pubDate>Mon, 02 Mar 2026 09:{n % 60:02d}:00 GMT</pubDate></item>"
        for n in range(version + items, version, -1)
    )
    return (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>{name}</title>"
        f"<link>https://blog.example/{name}</link><description>d</description>{entries}"
        "</channel></rss>"
    ).encode()


class FeedSite:
    """`/feed/N` serves feed N. `bump(N)` publishes a new item on it. Counts bytes by agent."""

    def __init__(self, items: int = 10) -> None:
        self.versions: dict[str, int] = {}
        self.items = items
        self.bytes_by_agent: dict[str, int] = {}
        self.requests_by_agent: dict[str, int] = {}
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                name = self.path.strip("/").replace("/", "-")
                body = feed_xml(name, site.versions.get(name, 0), site.items)
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                agent = self.headers.get("User-Agent", "?").split("/")[0]
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    sent = 0
                else:
                    self.send_response(200)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    sent = len(body)
                with site.lock:
                    site.bytes_by_agent[agent] = site.bytes_by_agent.get(agent, 0) + sent
                    site.requests_by_agent[agent] = site.requests_by_agent.get(agent, 0) + 1

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def bump(self, name: str) -> None:
        self.versions[name] = self.versions.get(name, 0) + 1

    def close(self) -> None:
        self.httpd.shutdown()

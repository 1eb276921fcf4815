"""Helpers for the jobs tests: a real HTTP server on 127.0.0.1 that replays recorded
payloads and the outside world's failure shapes (slow answers, 503 + Retry-After,
truncated bodies, HTML pages, 304s), and a store holding the bundled catalogue
(sectors, technologies, series) but no data. Fixtures are in conftest.py.
"""
from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from jobs.bundled import BundledSummary, _catalogue
from jobs.settings import REPO_DATA_DIR
from jobs.store import db

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
RAW = REPO_DATA_DIR / "raw"


@contextlib.contextmanager
def served() -> Iterator["Recorded"]:
    """A running loopback server for the block (the `server` fixture of each test folder)."""
    recorded, httpd = start_server()
    try:
        yield recorded
    finally:
        httpd.shutdown()
        httpd.server_close()


def start_server() -> tuple["Recorded", ThreadingHTTPServer]:
    recorded = Recorded()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    recorded.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    return recorded, httpd


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before the headers are sent
    stall_after: int | None = None  # send this many body bytes, wait `stall` seconds, send the rest
    stall: float = 0.0
    truncate_to: int | None = None  # send Content-Length of the whole body, then only this many bytes
    etag: str | None = None  # answer 304 when the request's If-None-Match equals it


class Recorded:
    """Routes: path (with query) -> list of replies, consumed in order; the last one repeats."""

    def __init__(self):
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def set(self, path: str, *replies: Reply) -> None:
        with self.lock:
            self.routes[path] = list(replies)

    def next_reply(self, path: str) -> Reply | None:
        with self.lock:
            replies = self.routes.get(path)
            if not replies:
                return None
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def hits(self, path: str) -> list[dict]:
        return [headers for p, headers in self.requests if p == path]


def _handler(recorded: Recorded):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            recorded.requests.append((self.path, dict(self.headers)))
            reply = recorded.next_reply(self.path)
            if reply is None:
                reply = Reply(b"<html><body>404 Not Found</body></html>", 404,
                              {"Content-Type": "text/html"})
            if reply.delay:
                time.sleep(reply.delay)
            if reply.etag and self.headers.get("If-None-Match") == reply.etag:
                self.send_response(304)
                self.send_header("ETag", reply.etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.etag:
                self.send_header("ETag", reply.etag)
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.truncate_to is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            body = reply.body if reply.truncate_to is None else reply.body[:reply.truncate_to]
            try:
                if reply.stall_after is not None:
                    self.wfile.write(body[:reply.stall_after])
                    self.wfile.flush()
                    time.sleep(reply.stall)
                    body = body[reply.stall_after:]
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                return
            if reply.truncate_to is not None:
                self.close_connection = True

    return Handler


def catalogue_store(url: str):
    """A migrated store with the bundled catalogue and no observations."""
    engine = db.make_engine(url)
    db.upgrade(engine)
    with db.transaction(engine) as conn:
        _catalogue(conn, REPO_DATA_DIR, BundledSummary())
    return engine

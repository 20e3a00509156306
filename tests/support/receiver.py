"""A real HTTP receiver of webhooks for the tests: a threaded http.server on a loopback port, that keeps
what it got and fails on purpose (``fail_first`` requests answered 500; ``hold`` seconds of silence on the
next request; stopped and started again on the same port, as a receiver that restarts), and
:func:`verify`, the signature check docs/WEBHOOKS.md shows receivers."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    event: str
    delivery: str
    signature: str
    body: bytes
    answered: int      # the status it was answered with (0: none, the connection was dropped)

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


def verify(secret: str, header: str, body: bytes, tolerance: float = 300) -> bool:
    """The receiver's check, as docs/WEBHOOKS.md gives it: the HMAC of "<t>.<body>" and a recent t."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields.get("v1", "")) and abs(time.time() - int(fields["t"])) <= tolerance


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.fail_first = 0          # answer this many requests (from now) with 500
        self.hold = 0.0              # keep the next request waiting this long, then answer 200 (once)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    hold, receiver.hold = receiver.hold, 0.0
                    status = 500 if receiver.fail_first > 0 else 200
                    receiver.fail_first = max(0, receiver.fail_first - 1)
                if hold:
                    time.sleep(hold)
                with receiver._lock:
                    receiver.received.append(Received(self.headers.get("Smartbcc-Event", ""),
                                                      self.headers.get("Smartbcc-Delivery", ""),
                                                      self.headers.get("Smartbcc-Signature", ""), body, status))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:      # the sender gave up waiting
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self, event: str | None = None) -> list[Received]:
        """The requests answered 200 (of ``event`` when given)."""
        with self._lock:
            return [r for r in self.received if r.answered == 200 and (event is None or r.event == event)]

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""The monitoring port: ``/metrics`` for Prometheus, ``/healthz`` and ``/readyz`` for the supervisor.

Served on the gateway's own event loop (three GET endpoints need no web framework), so each scrape sees
the live state: the quarantine size is counted and the database asked at scrape time, each within
``PROBE_TIMEOUT``.

- ``/healthz``: 200 while the process serves its event loop (a liveness probe: restart when it fails).
- ``/readyz``: 200 when the gateway takes mail: listening, not stopping, and the database answers;
  else 503 with the reason (a readiness probe: send no mail here until it passes).
- ``/metrics``: gateway.ops.metrics, in the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text

from gateway.ops.metrics import Metrics
from gateway.store.database import Database
from gateway.store.models import QuarantinedMessage

log = logging.getLogger("smartbcc.monitoring")
PROBE_TIMEOUT = 2.0          # seconds a scrape waits for the database
REQUEST_TIMEOUT = 5.0        # seconds a client has to send its request head
MAX_HEAD = 8192              # bytes of request line and headers, at most


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    allow: str = ""      # for a 405: the methods the resource has (RFC 9110 15.5.6 asks for them)


REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class Monitoring:
    """The HTTP endpoints of one gateway; ``stopping`` says when the gateway no longer takes mail."""

    def __init__(self, db: Database, metrics: Metrics, stopping: Callable[[], bool]) -> None:
        self.db = db
        self.metrics = metrics
        self.stopping = stopping
        self.server: asyncio.Server | None = None
        self.routes: dict[str, Callable[[], Awaitable[Response]]] = {
            "/metrics": self.scrape, "/healthz": self.health, "/readyz": self.ready,
        }

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    # -- endpoints ------------------------------------------------------------------------------------

    async def health(self) -> Response:
        return Response(200, b"ok\n")

    async def ready(self) -> Response:
        if self.stopping():
            return Response(503, b"stopping: the gateway takes no new mail\n")
        problem = await self._database_problem()
        if problem:
            return Response(503, f"database unavailable: {problem}\n".encode())
        return Response(200, b"ready\n")

    async def scrape(self) -> Response:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                async with self.db.sessions() as session:
                    waiting = await session.scalar(select(func.count()).select_from(QuarantinedMessage)
                                                   .where(QuarantinedMessage.status == "waiting"))
            self.metrics.quarantine.set(waiting or 0)
            self.metrics.database_up.set(1)
        except Exception as error:      # the metrics still come, with the database marked down
            log.warning("metrics: the database did not answer: %r", error)
            self.metrics.database_up.set(0)
        return Response(200, self.metrics.render(), CONTENT_TYPE_LATEST)

    async def _database_problem(self) -> str:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT):
                async with self.db.sessions() as session:
                    await session.execute(text("SELECT 1"))
        except TimeoutError:
            return f"no answer within {PROBE_TIMEOUT:g} s"
        except Exception as error:
            return repr(error)
        return ""

    # -- HTTP -----------------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response, head_only = await self._respond(reader)
            reason = REASONS.get(response.status, "")
            head = (f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
                    f"Content-Length: {len(response.body)}\r\nCache-Control: no-store\r\n"
                    + (f"Allow: {response.allow}\r\n" if response.allow else "")
                    + "Connection: close\r\n\r\n").encode()
            writer.write(head if head_only else head + response.body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:
            log.exception("monitoring request failed")
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[Response, bool]:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                request_line = await reader.readuntil(b"\r\n")
                while (await reader.readuntil(b"\r\n")) != b"\r\n":     # headers: not needed
                    pass
        except (asyncio.LimitOverrunError, ValueError):
            return Response(400, b"request head too long\n"), False
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return Response(400, b"bad request line\n"), False
        method, target = parts[0], parts[1].split("?", 1)[0]
        endpoint = self.routes.get(target)
        if endpoint is None:
            return Response(404, b"not found: try /metrics, /healthz or /readyz\n"), False
        if method not in ("GET", "HEAD"):
            return Response(405, b"only GET and HEAD\n", allow="GET, HEAD"), False
        return await endpoint(), method == "HEAD"

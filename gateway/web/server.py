"""Run the web mailbox with uvicorn until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import Iterator

import uvicorn

from gateway.config import Settings, listen_hosts
from gateway.web.app import create_app

log = logging.getLogger("smartbcc.web")


def config(settings: Settings) -> uvicorn.Config:
    """uvicorn's own proxy handling is off: gateway.web.guard believes forwarded headers from
    ``web_trusted_proxies`` only."""
    return uvicorn.Config(create_app(settings), host=settings.web_host, port=settings.web_port,
                          proxy_headers=False, server_header=False, date_header=True, access_log=False,
                          log_level=settings.log_level.lower(), lifespan="on")


class _Server(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT or SIGTERM like the SMTP side: requests under way finish and
    the process exits 0 (uvicorn's own handling raises the signal again, ending the process by it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.handle_exit, signum, None)
        try:
            yield
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)


def listening_sockets(settings: Settings) -> list[socket.socket] | None:
    """With several addresses in ``web_host`` (``0.0.0.0,::``), a bound socket for each (IPv6 ones IPv6
    only, as the SMTP side binds them); with one, None: uvicorn binds it."""
    hosts = listen_hosts(settings.web_host)
    if len(hosts) < 2:
        return None
    sockets: list[socket.socket] = []
    for host in hosts:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((host, settings.web_port))
        except OSError:
            sock.close()
            for made in sockets:
                made.close()
            raise
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


async def run(settings: Settings) -> None:
    server = _Server(config(settings))
    log.info("web mailbox on http://%s:%d%s/", settings.web_host, settings.web_port, settings.web_base_path)
    await server.serve(sockets=listening_sockets(settings))

"""Run the web mailbox with uvicorn until SIGINT or SIGTERM."""

from __future__ import annotations

import logging

import uvicorn

from gateway.config import Settings
from gateway.web.app import create_app

log = logging.getLogger("smartbcc.web")


def config(settings: Settings) -> uvicorn.Config:
    """uvicorn's own proxy handling is off: gateway.web.guard believes forwarded headers from
    ``web_trusted_proxies`` only."""
    return uvicorn.Config(create_app(settings), host=settings.web_host, port=settings.web_port,
                          proxy_headers=False, server_header=False, date_header=True, access_log=False,
                          log_level=settings.log_level.lower(), lifespan="on")


async def run(settings: Settings) -> None:
    server = uvicorn.Server(config(settings))
    log.info("web mailbox on http://%s:%d%s/", settings.web_host, settings.web_port, settings.web_base_path)
    await server.serve()

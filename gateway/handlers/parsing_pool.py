"""Parse big messages in a worker process, so that the event loop keeps serving the other sessions.

Parsing is pure Python: in a thread it would still hold the interpreter lock for most of a large
message, and every session of the gateway would wait. A worker process (started by a fork server, so
it inherits none of the gateway's threads or sockets) parses it instead; the loop only waits for the
result. When the pool cannot be used (it broke, or the system refuses processes) the message is parsed
in a thread: slower for the others, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from gateway.mail.message import ParsedMessage
from gateway.mail.parsing import parse_message

log = logging.getLogger("smartbcc.smtp")

IN_PROCESS_LIMIT = 64 * 1024    # smaller messages parse on the loop: faster than a round trip


class Parser:
    def __init__(self, mail_domain: str, workers: int = 1) -> None:
        self.mail_domain = mail_domain
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    async def parse(self, raw: bytes) -> ParsedMessage:
        if len(raw) <= IN_PROCESS_LIMIT:
            return parse_message(raw, mail_domain=self.mail_domain)
        loop = asyncio.get_running_loop()
        pool = self._get_pool()
        if pool is not None:
            try:
                return await loop.run_in_executor(pool, _parse, raw, self.mail_domain)
            except (BrokenProcessPool, OSError) as error:
                log.warning("the parsing process failed (%r); parsing in a thread from now on", error)
                self._broken = True
        return await asyncio.to_thread(parse_message, raw, mail_domain=self.mail_domain)

    def _get_pool(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._broken:
            try:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            except (OSError, ValueError) as error:
                log.warning("cannot start a parsing process (%r); parsing in a thread", error)
                self._broken = True
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _parse(raw: bytes, mail_domain: str) -> ParsedMessage:
    return parse_message(raw, mail_domain=mail_domain)

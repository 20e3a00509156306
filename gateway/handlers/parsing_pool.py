"""Parse big messages in a worker process, so that the event loop keeps serving the other sessions.

Parsing is pure Python: in a thread it would still hold the interpreter lock for most of a large
message, and every session of the gateway would wait. A worker process (started by a fork server, so
it inherits none of the gateway's threads or sockets) parses it instead; the loop only waits for the
result. The message reaches the worker through a private temporary file (mode 0600; the one DATA
spooled it into, gateway.handlers.spool, or one made here and removed once parsed), not the pool's
pipe, which would hold a pickled copy of it here. When the pool cannot be
used (it broke, or the system refuses processes) the message is parsed in a thread: slower for the
others, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from gateway.handlers.spool import Spool, spool
from gateway.mail.message import ParsedMessage
from gateway.mail.parsing import parse_message

log = logging.getLogger("smartbcc.smtp")

IN_PROCESS_LIMIT = 64 * 1024    # smaller messages parse on the loop: faster than a round trip
NICENESS = 10                   # the parsing process gives way to the serving one for the CPU


class Parser:
    def __init__(self, mail_domain: str, workers: int = 1) -> None:
        self.mail_domain = mail_domain
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    async def parse(self, raw: bytes, spooled: str | None = None) -> ParsedMessage:
        """``spooled``: a file that holds ``raw`` already (gateway.handlers.spool), for the worker to read."""
        if len(raw) <= IN_PROCESS_LIMIT:
            return parse_message(raw, mail_domain=self.mail_domain)
        loop = asyncio.get_running_loop()
        pool = self._get_pool()
        if pool is not None:
            own: Spool | None = None
            if spooled is None:
                try:
                    own = await asyncio.to_thread(spool, raw)
                    spooled = own.path
                except OSError as error:     # no room for a temporary file: hand the bytes over instead
                    log.warning("cannot spool a %d-byte message for parsing (%r)", len(raw), error)
            try:
                if spooled is None:
                    return await loop.run_in_executor(pool, _parse, raw, self.mail_domain)
                return await loop.run_in_executor(pool, _parse_file, spooled, self.mail_domain)
            except (BrokenProcessPool, OSError) as error:
                log.warning("the parsing process failed (%r); parsing in a thread from now on", error)
                self._broken = True
            finally:
                if own is not None:
                    own.remove()
        return await asyncio.to_thread(parse_message, raw, mail_domain=self.mail_domain)

    def _get_pool(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._broken:
            try:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                                 initializer=_yield_to_the_loop)
            except (OSError, ValueError) as error:
                log.warning("cannot start a parsing process (%r); parsing in a thread", error)
                self._broken = True
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _yield_to_the_loop() -> None:
    """In the parsing process: a lower CPU priority. Parsing one large message takes a while whatever
    happens; the serving process answers every session, so when the two want the same core it goes first."""
    try:
        os.nice(NICENESS)
    except OSError as error:
        log.warning("the parsing process keeps its priority (%r)", error)


def _parse(raw: bytes, mail_domain: str) -> ParsedMessage:
    return parse_message(raw, mail_domain=mail_domain)


def _parse_file(path: str, mail_domain: str) -> ParsedMessage:
    with open(path, "rb") as spool:
        raw = spool.read()
    return parse_message(raw, mail_domain=mail_domain)

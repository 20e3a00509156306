"""How a synced message enters the store: the same parser and filer (gateway.handlers) as a message after
SMTP DATA, so that it gets the same parsing, participants, dedup, contacts and links."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.config import Settings
from gateway.handlers.filer import Filer, Outcome
from gateway.handlers.parsing_pool import Parser
from gateway.mail.message import ParsedMessage
from gateway.store.database import Database
from gateway.store.filing import Delivery


@dataclass
class Intake:
    """The parser and filer synced mail goes through. In `smartbcc serve` the filer is the SMTP side's own
    (one writer, batches shared; a synced message waits its turn like a Bcc'd one) and the parser a process
    of its own, so that a large first sync never holds up the parsing of SMTP mail."""

    settings: Settings
    parser: Parser
    filer: Filer
    owned: bool = False          # made by :meth:`standalone`: closed by :meth:`close`

    @classmethod
    def standalone(cls, db: Database, settings: Settings) -> "Intake":
        """A parser and a filer of its own, for `smartbcc mailbox sync` outside the server."""
        return cls(settings, parser_for(db, settings), Filer(db, settings), owned=True)

    async def parse(self, raw: bytes) -> ParsedMessage:
        return await self.parser.parse(raw)

    async def file(self, delivery: Delivery) -> Outcome:
        deadline = asyncio.get_running_loop().time() + self.settings.data_timeout
        return await self.filer.file(delivery, deadline)

    async def close(self) -> None:
        if self.owned:
            await self.filer.drain(self.settings.shutdown_timeout)
        await asyncio.to_thread(self.parser.close)


def parser_for(db: Database, settings: Settings) -> Parser:
    return Parser(db.mail_domain, timeout=settings.parse_timeout,
                  memory_limit=settings.parse_memory_limit * 1024 * 1024, spool_dir=settings.spool_dir or None)

"""Helpers of the `smartbcc` command-line tests: a runner bound to one test's settings (:class:`Smartbcc`),
what the ``seeded`` fixture made (:class:`Seeded`), and stored messages made without the SMTP road."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import select

from gateway.cli import cli
from gateway.config import Settings
from gateway.store.database import Database
from gateway.store.models import Attachment, Company, Link, Message, MessageRaw, User
from tests.support.gwtest import with_db


class Smartbcc:
    """``smartbcc`` through click's CliRunner, with the global options of one test's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
                        "--mail-domain", settings.mail_domain]
        self.runner = CliRunner()

    def __call__(self, *args: str, input: bytes | str | None = None) -> Result:
        return self.runner.invoke(cli, [*self.options, *map(str, args)], input=input)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str, code: int = 1) -> str:
        """Run a command that must fail cleanly: exit ``code``, a message on stderr, no traceback."""
        result = self(*args)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        assert isinstance(result.exception, SystemExit), result.exception   # not an unexpected exception
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert result.stderr.startswith(("Error: ", "Usage: ")), result.stderr
        return " ".join(result.stderr.split())     # one line, whatever the terminal wrapping



@dataclass(frozen=True)
class Seeded:
    acme: dict
    globex: dict
    ada: dict
    person: dict
    org: dict
    deal: dict


run_db = with_db     # the tests here import it by this name


RAW = (b"From: Ada <ada@acme.example>\r\nTo: Bob <bob@customer.example>\r\nSubject: Quote\r\n"
       b"Message-ID: <quote-1@acme.example>\r\n\r\nHello Bob,\r\n\xe9t\xe9 8-bit bytes\r\n")


def store_message(settings: Settings, subject: str = "Quote", links: tuple[tuple[str, int, str], ...] = (),
                  raw: bytes = RAW, attachments: tuple[tuple[str, str, bytes], ...] = (),
                  company: str = "acme", owner: str = "ada@acme.example") -> int:
    """A stored message as the filing code leaves it: parsed fields, raw bytes, attachments, links."""
    async def work(db: Database) -> int:
        async with db.sessions() as session, session.begin():
            company_id = await session.scalar(select(Company.id).where(Company.slug == company))
            user_id = await session.scalar(select(User.id).where(User.email == owner))
            message = Message(
                company_id=company_id, owner_user_id=user_id, visibility="private",
                message_id=f"<{subject}.{len(raw)}@acme.example>", content_hash=hashlib.sha256(raw).hexdigest(),
                sha256=hashlib.sha256(raw).hexdigest(), size=len(raw), subject=subject,
                from_email=owner, from_name="Ada", to_addrs=[{"email": "bob@customer.example", "name": "Bob"}],
                text_body="Hello Bob,", envelope_from=owner, envelope_rcpts=["acme@bcc.example.net"],
                auth_verdict="pass", auth_reason="author is the login of user ada@acme.example",
                attachments=[Attachment(filename=name, content_type=ctype, size=len(data),
                                        sha256=hashlib.sha256(data).hexdigest())
                             for name, ctype, data in attachments],
            )
            session.add(message)
            await session.flush()
            session.add(MessageRaw(message_pk=message.id, raw=raw))
            session.add_all([Link(message_pk=message.id, kind=kind, record_id=record_id, rule=rule)
                             for kind, record_id, rule in links])
            return message.id
    return run_db(settings, work)

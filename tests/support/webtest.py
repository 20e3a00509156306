"""Helpers of the web mailbox tests: the real SMTP gateway and the real web server (uvicorn) on loopback
ports, on one database, with users who have passwords, and clients signed in as them."""

from __future__ import annotations

import asyncio
import re
import smtplib
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from gateway.config import Settings
from gateway.services import web_auth
from gateway.store.database import Database
from gateway.store.models import Deal, Person, User
from gateway.web import server as web_server
from tests.support.gwtest import Seed, ThreadedGateway, add_bobs, free_port, seed, with_db

PASSWORD = "correct horse battery"


class ThreadedWeb:
    """`smartbcc web`'s server (uvicorn over gateway.web.app) on its own event loop in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.server = uvicorn.Server(web_server.config(settings))
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> "ThreadedWeb":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(20)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}{self.settings.web_base_path}"


@dataclass
class Site:
    settings: Settings
    seed: Seed
    web: ThreadedWeb
    smtp_port: int
    users: dict[str, int] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.web.base

    def client(self, **options: Any) -> httpx.Client:
        options.setdefault("base_url", self.base)
        client = httpx.Client(follow_redirects=False, timeout=20, **options)
        self.clients.append(client)
        return client

    def sign_in(self, email: str = "ada@acme.example", password: str = PASSWORD, **options: Any) -> httpx.Client:
        client = self.client(**options)
        page = client.get("/sign-in")
        response = client.post("/sign-in", data={"email": email, "password": password, "csrf": csrf_of(page.text)})
        assert response.status_code == 303, response.text
        return client

    def send(self, subject: str, *, sender: str = "ada@acme.example", to: str = "bob@customer.example",
             body: str = "Hello", html: str | None = None, rcpt: str | None = None,
             attachments: tuple[tuple[str, str, bytes], ...] = (), raw: bytes | None = None) -> None:
        """Mail through the real SMTP server, Bcc'd to the company's address (or ``rcpt``)."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=20) as smtp:
            if raw is not None:
                smtp.sendmail(sender, [rcpt or self.seed.company_address], raw)
                return
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = sender, to, subject
            message.set_content(body)
            if html is not None:
                message.add_alternative(html, subtype="html")
            for name, kind, data in attachments:
                maintype, subtype = kind.split("/")
                message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
            smtp.send_message(message, to_addrs=[rcpt or self.seed.company_address])

    def ids(self) -> dict[str, int]:
        """Stored messages by subject."""
        from tests.support.gwtest import messages
        return {m.subject: m.id for m in messages(self.settings)}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def _users(db: Database) -> dict[str, int]:
    async with db.sessions() as session, session.begin():
        acme = (await session.scalar(select(User).where(User.email == "ada@acme.example"))).company_id
        session.add(User(company_id=acme, email="cy@acme.example", name="Cy Colleague"))
    for email in ("ada@acme.example", "cy@acme.example", "gus@globex.example"):
        await web_auth.set_password(db, email, PASSWORD)
    async with db.sessions() as session:
        return {u.email: u.id for u in await session.scalars(select(User))}


def site_for(settings: Settings, **web: Any) -> Iterator[Site]:
    settings = settings.replace(web_port=free_port(), **web)
    planted = seed(settings)
    users = with_db(settings, _users)
    with ThreadedGateway(settings) as gateway, ThreadedWeb(settings) as running:
        site = Site(settings, planted, running, gateway.port, users)
        try:
            yield site
        finally:
            for client in site.clients:
                client.close()


async def _deal(db: Database, company_id: int, title: str, person: str | None = None) -> int:
    async with db.sessions() as session, session.begin():
        person_id = None
        if person:
            person_id = await session.scalar(select(Person.id).where(Person.email == person))
        deal = Deal(company_id=company_id, title=title, person_id=person_id)
        session.add(deal)
        await session.flush()
        return deal.id


def add_deal(site: Site, title: str, company_id: int | None = None) -> int:
    return with_db(site.settings, lambda db: _deal(db, company_id or site.seed.company_id, title))


def admin(site: Site, *args: str) -> str:
    """An admin's `smartbcc ...` on the site's database (click's runner, in this process); its output."""
    from click.testing import CliRunner

    from gateway.cli import cli
    done = CliRunner().invoke(cli, ["--database-url", site.settings.effective_database_url, *args])
    assert done.exit_code == 0, done.output
    return done.output


def bobs_deals(site: Site, **titles: str) -> dict[str, int]:
    """More deals of Bob's, title -> status; their ids by title (Bob's seeded open deal is "Bob's big order")."""
    return add_bobs(site.settings, site.seed, Deal, **titles)


def token_for(site: Site, email: str) -> str:
    """A personal access token, made by `smartbcc token create EMAIL --json`."""
    import json

    from click.testing import CliRunner

    from gateway.cli import cli
    made = CliRunner().invoke(cli, ["--database-url", site.settings.effective_database_url, "token", "create",
                                    email, "--json"])
    assert made.exit_code == 0, made.output
    return json.loads(made.output)["token"]

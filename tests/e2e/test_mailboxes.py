"""Connected mailboxes against a real IMAP server: a throwaway Dovecot (tests/support/dovecot.py), one for
the module, each test with a user of its own. Connect (and its errors), the first sync filing like Bcc'd
mail, flags and moves both ways, UIDVALIDITY changed, the server killed mid-sync, dedup with the same
message Bcc'd, credentials that stop working, and IDLE delivery to the running server."""

from __future__ import annotations

import asyncio
import json
import smtplib
import socket
import time
from dataclasses import dataclass
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.services import mailbox as web_mailbox
from gateway.store.database import Database
from gateway.store.models import (
    ConnectedMailbox, Link, MailboxCopy, MailboxEntry, MailFolder, Message, Notification, Person,
)
from gateway.sync import Intake, sync_mailbox
from tests.support.clitest import Smartbcc
from tests.support.dovecot import Dovecot, running_dovecot
from tests.support.gwtest import Seed, ThreadedGateway, free_port, seed, sqlite_only, with_db

pytestmark = [pytest.mark.dovecot, pytest.mark.xdist_group(name="dovecot")]


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    yield from running_dovecot()


_users = iter(range(1, 1000))


@dataclass
class Box:
    """A Dovecot user connected as a mailbox of ada@acme.example."""

    user: str
    password: str
    id: int
    seed: Seed


@dataclass(frozen=True)
class Viewer:
    user_id: int
    company_id: int


def mail(subject: str, sender: str = "Bob Buyer <bob@customer.example>", to: str = "Ada <ada@acme.example>",
         extra: str = "", message_id: str | None = None) -> bytes:
    message_id = message_id or make_msgid(domain="customer.example")
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
            f"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n{extra}\r\n{subject}: the text.\r\n").encode()


def new_user(dovecot: Dovecot) -> tuple[str, str]:
    name = f"user{next(_users)}"
    dovecot.add_user(name, f"pw-{name}")
    return name, f"pw-{name}"


def connect(settings: Settings, dovecot: Dovecot, tmp_path: Path, user: str, password: str,
            *extra: str) -> dict[str, Any]:
    secret = tmp_path / f"{user}.pw"
    secret.write_text(password + "\n")
    return Smartbcc(settings).json("mailbox", "connect", "ada@acme.example", "--imap", f"localhost:{dovecot.tls_port}",
                                   "--username", user, "--password-file", str(secret), "--ca-file", dovecot.ca_file,
                                   *extra)


def sync(settings: Settings, box_id: int) -> dict[str, Any]:
    async def work(db: Database) -> Any:
        intake = Intake.standalone(db, settings)
        try:
            return await sync_mailbox(db, intake, box_id)
        finally:
            await intake.close()
    report = with_db(settings, work)
    return report.__dict__


def state(settings: Settings, user_id: int) -> dict[str, dict[str, Any]]:
    """Each stored message by subject: direction, the owner's read flag and folder, its links."""
    async def work(db: Database) -> dict[str, dict[str, Any]]:
        async with db.sessions() as session:
            folders = {f.id: f.name for f in await session.scalars(select(MailFolder))}
            out = {}
            for m in await session.scalars(select(Message).order_by(Message.id)):
                entry = await session.get(MailboxEntry, (user_id, m.id))
                links = {(k, r) for k, r in (await session.execute(
                    select(Link.kind, Link.record_id).where(Link.message_pk == m.id))).all()}
                out[m.subject] = {"id": m.id, "direction": m.direction, "links": links,
                                  "read": entry.read if entry else None,
                                  "folder": (folders.get(entry.folder_id) if entry and entry.folder == "folder"
                                             else entry.folder if entry else None)}
            return out
    return with_db(settings, work)


def server_view(dovecot: Dovecot, user: str) -> dict[str, dict[str, bool]]:
    """Each folder's messages on the server by subject, with their \\Seen flag."""
    client = dovecot.client(user)
    try:
        out: dict[str, dict[str, bool]] = {}
        for _flags, _sep, name in client.list_folders():
            client.select_folder(name, readonly=True)
            fetched = client.fetch(client.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
            out[name] = {data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip():
                         b"\\Seen" in data[b"FLAGS"] for data in fetched.values()}
        return out
    finally:
        client.logout()


@pytest.fixture
def box(settings: Settings, dovecot: Dovecot, tmp_path: Path) -> Box:
    made = seed(settings)
    user, password = new_user(dovecot)
    view = connect(settings, dovecot, tmp_path, user, password)
    return Box(user, password, view["id"], made)


# -- connect and the first sync ------------------------------------------------------------------------


@sqlite_only
def test_connect_says_what_is_wrong_and_keeps_the_password_secret(settings, dovecot, tmp_path, monkeypatch):
    seed(settings)
    cli = Smartbcc(settings)
    user, password = new_user(dovecot)
    secret = tmp_path / "pw"
    secret.write_text("not-the-password\n")
    base = ["mailbox", "connect", "ada@acme.example", "--username", user, "--password-file", str(secret)]
    wrong = cli.fails(*base, "--imap", f"localhost:{dovecot.tls_port}", "--ca-file", dovecot.ca_file)
    assert f"refused the username or password of {user}" in wrong
    down = cli.fails(*base, "--imap", f"localhost:{free_port()}", "--ca-file", dovecot.ca_file)
    assert "cannot reach localhost:" in down
    with socket.create_server(("127.0.0.1", 0)) as silent:          # accepts, never answers
        monkeypatch.setenv("SMARTBCC_MAILBOX_TIMEOUT", "0.5")
        started = time.monotonic()
        slow = cli.fails(*base, "--imap", f"127.0.0.1:{silent.getsockname()[1]}", "--ca-file", dovecot.ca_file)
        assert "cannot reach 127.0.0.1:" in slow and "timed out" in slow and time.monotonic() - started < 5
        monkeypatch.delenv("SMARTBCC_MAILBOX_TIMEOUT")
    secret.write_text(password + "\n")
    untrusted = cli.fails(*base, "--imap", f"localhost:{dovecot.tls_port}")     # self-signed, no --ca-file
    assert "TLS with localhost" in untrusted and "certificate" in untrusted
    view = cli.json(*base, "--imap", f"localhost:{dovecot.starttls_port}", "--starttls", "--ca-file", dovecot.ca_file)
    assert (view["security"], view["port"], view["status"]) == ("starttls", dovecot.starttls_port, "new")
    listing = cli.json("mailbox", "list")
    assert password not in json.dumps(listing) + json.dumps(view)
    assert password not in cli.ok("mailbox", "list")

    async def stored(db: Database) -> str:
        async with db.sessions() as session:
            return (await session.scalars(select(ConnectedMailbox.secret))).one()
    sealed = with_db(settings, stored)
    assert password not in sealed and sealed.startswith("gAAAA")     # a Fernet token
    again = cli.fails(*base, "--imap", f"localhost:{dovecot.starttls_port}", "--starttls", "--ca-file", dovecot.ca_file)
    assert "already" in again


def test_first_sync_files_like_bcc_and_mirrors_the_folders(settings, dovecot, box):
    reply = mail("Re: your quote", extra="In-Reply-To: <unknown@acme.example>\r\n")
    dovecot.append(box.user, "INBOX", reply)                                        # from a known contact
    dovecot.append(box.user, "INBOX", mail("Hello", sender="Stranger <who@else.example>"), seen=True)
    dovecot.append(box.user, "Sent", mail("Our offer", sender="Ada <ada@acme.example>",
                                          to="Bob <bob@customer.example>"), seen=True)
    client = dovecot.client(box.user)
    client.create_folder("Projects")
    client.append("Projects", mail("Project plan"))
    client.append("Drafts", mail("Half written", sender="Ada <ada@acme.example>"))
    client.logout()

    report = Smartbcc(settings).json("mailbox", "sync", str(box.id))["report"]
    assert report["status"] == "ok" and report["fetched"] == 4, report
    seen = state(settings, box.seed.user_id)
    assert set(seen) == {"Re: your quote", "Hello", "Our offer", "Project plan"}      # no draft
    deal, person = ("deal", box.seed.deal_id), ("person", box.seed.person_id)
    assert {deal, person} <= seen["Re: your quote"]["links"]        # on bob's only open deal
    assert seen["Re: your quote"]["direction"] == "incoming" and seen["Re: your quote"]["read"] is False
    assert seen["Hello"]["links"] == set() and seen["Hello"]["read"] is True     # an unknown sender: no record made
    assert "who@else.example" not in {p for p in _persons(settings)}
    assert seen["Our offer"]["direction"] == "outgoing" and seen["Our offer"]["folder"] == "sent"
    assert seen["Project plan"]["folder"] == "Projects"              # the custom folder, mirrored
    listing = Smartbcc(settings).json("mailbox", "list")
    assert (listing[0]["unread"], listing[0]["status"], listing[0]["idle"]) == (1, "ok", True)

    # nothing new: nothing fetched again, nothing duplicated
    assert sync(settings, box.id)["fetched"] == 0
    assert len(state(settings, box.seed.user_id)) == 4


def _persons(settings: Settings) -> list[str]:
    async def work(db: Database) -> list[str]:
        async with db.sessions() as session:
            return list(await session.scalars(select(Person.email)))
    return with_db(settings, work)


@sqlite_only
def test_autofile_off_keeps_synced_mail_for_the_mailbox_only(settings, dovecot, box):
    Smartbcc(settings).ok("mailbox", "autofile", "acme", "off")
    dovecot.append(box.user, "INBOX", mail("Re: unfiled"))
    assert sync(settings, box.id)["fetched"] == 1
    assert state(settings, box.seed.user_id)["Re: unfiled"]["links"] == set()


# -- both ways -----------------------------------------------------------------------------------------


@sqlite_only
def test_flags_moves_and_deletes_go_both_ways(settings, dovecot, box):
    for subject in ("One", "Two", "Three", "Four", "Five"):
        dovecot.append(box.user, "INBOX", mail(subject))
    client = dovecot.client(box.user)
    client.create_folder("Archive")
    client.logout()
    assert sync(settings, box.id)["fetched"] == 5
    ids = {subject: row["id"] for subject, row in state(settings, box.seed.user_id).items()}
    me = Viewer(box.seed.user_id, box.seed.company_id)

    # in smartbcc: One read, Two to spam, Three to Trash, Four to the mirrored Archive
    async def act(db: Database) -> None:
        await web_mailbox.mark(db, me, [ids["One"]], True)
        await web_mailbox.spam(db, me, [ids["Two"]])
        await web_mailbox.move(db, me, [ids["Three"]], "trash")
        archive = dict((name, ident) for ident, name in await web_mailbox.folders(db, me))["Archive"]
        await web_mailbox.move(db, me, [ids["Four"]], str(archive))
    with_db(settings, act)
    report = sync(settings, box.id)
    assert report["status"] == "ok" and report["pushed"] == 4, report
    on_server = server_view(dovecot, box.user)
    assert on_server["INBOX"] == {"One": True, "Five": False}
    assert on_server["Junk"] == {"Two": False} and on_server["Trash"] == {"Three": False}
    assert on_server["Archive"] == {"Four": False}
    assert len(state(settings, box.seed.user_id)) == 5            # moved copies found again, not duplicated

    # in the user's mail client: One unread again, Five read and moved to Archive, Four deleted
    client = dovecot.client(box.user)
    client.select_folder("INBOX")
    uids = {data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip(): uid for uid, data in
            client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]).items()}
    client.remove_flags([uids["One"]], [b"\\Seen"])
    client.add_flags([uids["Five"]], [b"\\Seen"])
    client.move([uids["Five"]], "Archive")
    client.select_folder("Archive")
    [four] = [uid for uid, data in client.fetch(client.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]).items()
              if b"Four" in data[b"BODY[HEADER.FIELDS (SUBJECT)]"]]
    client.delete_messages([four])
    client.expunge()
    client.logout()
    report = sync(settings, box.id)
    assert report["status"] == "ok", report
    seen = state(settings, box.seed.user_id)
    assert seen["One"]["read"] is False and seen["One"]["folder"] == "inbox"
    assert seen["Five"]["read"] is True and seen["Five"]["folder"] == "Archive"
    assert seen["Four"]["folder"] == "trash"
    assert len(seen) == 5

    # emptied from smartbcc's Trash: expunged on the server
    with_db(settings, lambda db: web_mailbox.empty_trash(db, me))
    assert sync(settings, box.id)["status"] == "ok"
    on_server = server_view(dovecot, box.user)
    assert on_server["Trash"] == {}

    # a folder deleted in the user's client: its mail is gone from the mailbox, to smartbcc's Trash
    client = dovecot.client(box.user)
    client.delete_folder("Archive")
    client.logout()
    assert sync(settings, box.id)["status"] == "ok"
    assert state(settings, box.seed.user_id)["Five"]["folder"] == "trash"


# -- faults --------------------------------------------------------------------------------------------


@sqlite_only
def test_a_uidvalidity_change_fetches_again_and_duplicates_nothing(settings, dovecot, box):
    for subject in ("Alpha", "Beta"):
        dovecot.append(box.user, "INBOX", mail(subject))
    assert sync(settings, box.id)["fetched"] == 2
    dovecot.set_uidvalidity(box.user, "INBOX", dovecot.uidvalidity(box.user, "INBOX") + 1000)
    dovecot.append(box.user, "INBOX", mail("Gamma"))
    report = sync(settings, box.id)
    assert report["status"] == "ok" and report["fetched"] == 3        # all of INBOX read again
    assert sorted(state(settings, box.seed.user_id)) == ["Alpha", "Beta", "Gamma"]
    assert _count(settings, MailboxCopy) == 3


def _count(settings: Settings, model: type) -> int:
    async def work(db: Database) -> int:
        async with db.sessions() as session:
            return len(list(await session.scalars(select(model))))
    return with_db(settings, work)


@sqlite_only
def test_a_server_killed_mid_sync_loses_and_duplicates_nothing(settings, dovecot, box):
    client = dovecot.client(box.user)
    for n in range(40):
        client.append("INBOX", mail(f"Bulk {n:02d}"))
    client.logout()

    async def first(db: Database) -> dict[str, Any]:
        intake = Intake.standalone(db, settings)
        try:
            task = asyncio.create_task(sync_mailbox(db, intake, box.id))
            while not task.done():
                async with db.sessions() as session:
                    done = (await session.get(ConnectedMailbox, box.id)).progress_done
                if done >= 5:
                    await asyncio.to_thread(dovecot.stop)        # killed, with the sync under way
                    break
                await asyncio.sleep(0.005)
            return (await task).__dict__
        finally:
            await intake.close()
    try:
        report = with_db(settings, first)
    finally:
        if dovecot.process is None:
            dovecot.start()
    assert report["status"] == "unreachable" and 5 <= report["fetched"] < 40, report
    listing = Smartbcc(settings).json("mailbox", "list")
    assert listing[0]["status"] == "unreachable" and listing[0]["last_error"]
    report = sync(settings, box.id)
    assert report["status"] == "ok", report
    subjects = sorted(state(settings, box.seed.user_id))
    assert subjects == [f"Bulk {n:02d}" for n in range(40)]
    assert _count(settings, MailboxCopy) == 40 and _count(settings, Message) == 40


@sqlite_only
def test_credentials_that_stop_working_mark_the_mailbox_and_tell_its_owner_once(settings, dovecot, box):
    dovecot.add_user(box.user, "changed-elsewhere")
    for _ in range(2):
        report = sync(settings, box.id)
        assert report["status"] == "failing" and "refused the username or password" in report["error"]

    async def notes(db: Database) -> list[Notification]:
        async with db.sessions() as session:
            return list(await session.scalars(select(Notification)))
    [note] = with_db(settings, notes)
    assert note.kind == "mailbox" and note.user_id == box.seed.user_id and box.user in note.text
    assert "changed-elsewhere" not in note.text
    dovecot.add_user(box.user, box.password)
    assert sync(settings, box.id)["status"] == "ok"            # the password works again: in sync

    from cryptography.fernet import Fernet
    other_key = settings.replace(mailbox_key=Fernet.generate_key().decode())
    report = sync(other_key, box.id)                            # a deployment whose key changed
    assert report["status"] == "failing" and "mailbox_key" in report["error"]


# -- the same message Bcc'd and synced; IDLE -----------------------------------------------------------


@sqlite_only
def test_idle_and_dedup_with_the_same_message_bccd(settings, dovecot, tmp_path):
    made = seed(settings)
    user, password = new_user(dovecot)
    with ThreadedGateway(settings, made) as gateway:
        view = connect(settings, dovecot, tmp_path, user, password)
        _wait(lambda: _status(settings, view["id"]) == ("ok", True), "the first sync")

        # Ada's mail client sends to Bob with the gateway in Bcc, and keeps a copy (with its Bcc) in Sent
        offer_id = make_msgid(domain="acme.example")
        sent = mail("Offer", sender="Ada <ada@acme.example>", to="Bob <bob@customer.example>", message_id=offer_id)
        with smtplib.SMTP(gateway.host, gateway.port) as smtp:
            smtp.sendmail("ada@acme.example", [made.company_address], sent)
        dovecot.append(user, "Sent", sent.replace(b"\r\n\r\n", f"\r\nBcc: {made.company_address}\r\n\r\n".encode(), 1),
                       seen=True)
        # Bob's reply lands in the mailbox: IDLE brings it in within seconds
        dovecot.append(user, "INBOX", mail("Re: Offer", extra=f"In-Reply-To: {offer_id}\r\n"))
        _wait(lambda: "Re: Offer" in state(settings, made.user_id), "IDLE delivery")
        with_db(settings, _request_all)
        _wait(lambda: _copies(settings) == 2, "the Sent copy")
    seen = state(settings, made.user_id)
    assert sorted(seen) == ["Offer", "Re: Offer"]
    assert _count(settings, Message) == 2                           # the Offer once, Bcc'd and synced
    assert ("deal", made.deal_id) in seen["Re: Offer"]["links"] and ("deal", made.deal_id) in seen["Offer"]["links"]
    assert seen["Offer"]["direction"] == "outgoing"


async def _request_all(db: Database) -> None:
    async with db.writing() as session, session.begin():
        for row in await session.scalars(select(ConnectedMailbox)):
            row.sync_requested_at = row.created_at


def _copies(settings: Settings) -> int:
    return _count(settings, MailboxCopy)


def _status(settings: Settings, box_id: int) -> tuple[str, bool]:
    async def work(db: Database) -> tuple[str, bool]:
        async with db.sessions() as session:
            row = await session.get(ConnectedMailbox, box_id)
            return row.status, row.idle
    return with_db(settings, work)


def _wait(condition: Any, what: str, seconds: float = 45) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {seconds} s")



# -- the web: /settings/mailboxes ----------------------------------------------------------------------


@sqlite_only
def test_the_settings_page_connects_syncs_and_is_the_owners_alone(settings, dovecot, monkeypatch):
    from tests.support.webtest import csrf_of, site_for

    user, password = new_user(dovecot)
    dovecot.append(user, "INBOX", mail("Re: from the web"))
    site = site_for(settings)
    running = next(site)
    try:
        ada = running.sign_in()
        page = ada.get("/settings/mailboxes")
        assert page.status_code == 200 and "No mailbox connected yet" in page.text
        token = csrf_of(page.text)
        form = {"csrf": token, "server": f"localhost:{dovecot.tls_port}", "security": "tls", "username": user,
                "password": "wrong"}
        refused = ada.post("/settings/mailboxes", data=form)     # the self-signed certificate is not trusted
        assert refused.status_code == 400 and "certificate" in refused.text and "wrong" not in refused.text.split(
            'id="mailbox-error"')[1].split("</p>")[0]
        assert ada.post("/settings/mailboxes", data={**form, "csrf": "forged"}).status_code == 403

        monkeypatch.setenv("SSL_CERT_FILE", dovecot.ca_file)     # the system's trust store, trusting the server
        connected = ada.post("/settings/mailboxes", data={**form, "password": password, "days": "7"})
        assert connected.status_code == 303 and "first+sync+runs" in connected.headers["location"]
        [box_id] = [row["id"] for row in Smartbcc(settings).json("mailbox", "list")]
        _wait(lambda: "in sync" in ada.get("/settings/mailboxes").text, "the first sync in the server")
        listed = ada.get("/settings/mailboxes").text
        assert f'id="mailbox-{box_id}"' in listed and '<span class="count">1<span class="sr-only"> unread</span>' in listed and password not in listed
        inbox = ada.get("/mailbox").text
        assert "Re: from the web" in inbox and user in inbox and 'href="/settings/mailboxes"' in inbox

        async def active(db: Database) -> Any:        # opening the mailbox: its owner is active, a sync asked
            async with db.sessions() as session:
                return (await session.get(ConnectedMailbox, box_id)).owner_active_at
        assert with_db(settings, active) is not None
        assert ada.post(f"/settings/mailboxes/{box_id}/sync", data={"csrf": token}).status_code == 303

        colleague = running.sign_in("cy@acme.example")
        theirs = csrf_of(colleague.get("/settings/mailboxes").text)
        assert user not in colleague.get("/settings/mailboxes").text
        for action in ("sync", "disconnect"):
            assert colleague.post(f"/settings/mailboxes/{box_id}/{action}", data={"csrf": theirs}).status_code == 404
        assert ada.post(f"/settings/mailboxes/{box_id}/disconnect", data={"csrf": token}).status_code == 303
        assert "No mailbox connected yet" in ada.get("/settings/mailboxes").text
        assert "Re: from the web" in ada.get("/mailbox").text           # its mail stays
    finally:
        next(site, None)

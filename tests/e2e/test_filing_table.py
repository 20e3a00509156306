"""Every message in tests/data, sent through the real server, files as tests/data/filing.toml says."""

from __future__ import annotations

import smtplib
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.models import Link, Message, Person
from tests.support.gwtest import ThreadedGateway, seed, with_db

DATA = Path(__file__).resolve().parent.parent / "data"
TABLE = tomllib.loads((DATA / "filing.toml").read_text(encoding="utf-8"))


def test_table_covers_every_message():
    assert set(TABLE) == {path.name for path in DATA.glob("*.eml")}


def filed(settings, message_pk: int):
    async def work(db):
        async with db.sessions() as session:
            message = await session.get(Message, message_pk)
            links = (await session.execute(select(Link.kind, Link.record_id, Link.rule)
                                           .where(Link.message_pk == message_pk))).all()
            people = {p.id: p.email for p in await session.scalars(select(Person))}
            return message, {(kind, people.get(rid) if kind == "person" else rid, rule) for kind, rid, rule in links}
    return with_db(settings, work)


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory):
    from gateway.config import load_settings
    return load_settings(overrides={"data_dir": str(tmp_path_factory.mktemp("filing") / "data"),
                                    "mail_domain": "bcc.example.net", "port": 0}, environ={})


@pytest.fixture(scope="module")
def gateway(module_settings):
    seed(module_settings)
    with ThreadedGateway(module_settings) as running:
        yield running


@pytest.mark.parametrize("name", sorted(TABLE))
def test_message_files_as_expected(name, gateway, module_settings):
    """Each message goes to a CRM that has none of its people yet (each test uses fresh addresses
    only in the sense that earlier messages may have created them: the links say which rule)."""
    expected = TABLE[name]
    raw = (DATA / name).read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    options = ["BODY=8BITMIME"] + (["SMTPUTF8"] if not raw.isascii() else [])
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        assert smtp.mail("ada@acme.example", options)[0] == 250
        assert smtp.rcpt("acme@bcc.example.net")[0] == 250
        code, reply = smtp.data(raw)
    assert code == 250, reply
    message_pk = int(reply.rsplit(b" ", 1)[1])
    message, links = filed(module_settings, message_pk)
    assert message.direction == expected["direction"]
    if "original_sender" in expected:
        assert message.forwarded["sender"]["email"] == expected["original_sender"]
    linked_people = {email for kind, email, _ in links if kind == "person"}
    assert linked_people == set(expected["contacts"]) | (linked_people & set(expected["participants"]))
    assert linked_people <= set(expected["participants"])
    for email in expected["contacts"]:
        assert any(kind == "person" and who == email and rule in ("participant-created", "participant")
                   for kind, who, rule in links), (email, links)
    if not expected["contacts"]:
        assert not any(rule == "participant-created" for _, _, rule in links)

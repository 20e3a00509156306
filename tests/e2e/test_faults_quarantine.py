"""A crash while filing an accepted message: the raw message waits in the quarantine (and the sender
gets its 250); `smartbcc quarantine list` shows it and `quarantine replay ID` files it, once."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from gateway.services import quarantine
from gateway.store import quarantine as kept
from gateway.services import users
from gateway.cli import cli
from gateway.store.filing import batch as filing_batch
from gateway.store.models import Message, QuarantinedMessage
from tests.support.gwtest import ThreadedGateway, count, messages, seed, with_db
from tests.support.rawsmtp import COMPANY, USER, Raw, message
from tests.support.replies import assert_reply


def smartbcc(settings, *args):
    options = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
               "--mail-domain", settings.mail_domain]
    return CliRunner().invoke(cli, [*options, *map(str, args)])


def _deliver(gateway, raw, rcpts=(COMPANY,)):
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        assert smtp.cmd(f"MAIL FROM:<{USER}>")[0] == 250
        for rcpt in rcpts:
            assert smtp.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
        return smtp.data(raw)


def _planner_bug(*args, **kwargs):
    raise RuntimeError("planner bug")


def _entries(settings):
    async def work(db):
        async with db.sessions() as session:
            return (await session.scalars(select(QuarantinedMessage).order_by(QuarantinedMessage.id))).all()
    return with_db(settings, work)


def test_crash_while_filing_quarantines_and_replay_files_once(settings, monkeypatch):
    seeded = seed(settings)
    raw = message(subject="filed later")
    with ThreadedGateway(settings) as gateway:
        monkeypatch.setattr(filing_batch, "plan_filing", _planner_bug)
        code, text_ = _deliver(gateway, raw, rcpts=(COMPANY, seeded.deal_address))
        assert_reply((code, text_), "250 2.0.0")
        assert count(settings, Message) == 0
        [entry] = _entries(settings)
        assert (entry.raw, entry.status, entry.company_id, entry.owner_user_id) == (raw, "waiting", 1, 1)
        assert entry.envelope_from == USER and entry.envelope_rcpts == [COMPANY, seeded.deal_address]
        assert "planner bug" in entry.reason
        monkeypatch.undo()

        listed = smartbcc(settings, "quarantine", "list", "--json")
        assert listed.exit_code == 0, listed.output
        [shown] = json.loads(listed.stdout)
        assert (shown["id"], shown["status"], shown["company"], shown["size"]) == \
            (entry.id, "waiting", "acme", len(raw))

        replayed = smartbcc(settings, "quarantine", "replay", entry.id)
        assert replayed.exit_code == 0, replayed.output
        assert "stored as message 1" in replayed.stdout
        again = smartbcc(settings, "quarantine", "replay", entry.id)
        assert again.exit_code == 1 and "replayed already" in again.stderr

        assert _deliver(gateway, raw)[0] == 250            # the same message by SMTP again: stored once
    [stored] = messages(settings)
    assert stored.raw == raw
    assert ("deal", seeded.deal_id, "record-address") in stored.links
    assert ("person", seeded.person_id, "participant") in stored.links
    [entry] = _entries(settings)
    assert (entry.status, entry.replayed_message_pk, entry.attempts) == ("replayed", stored.id, 1)
    assert smartbcc(settings, "quarantine", "list").stdout.strip() == "The quarantine is empty."
    assert "replayed" in smartbcc(settings, "quarantine", "list", "--all").stdout
    verdict = with_db(settings, lambda db: _verdict(db, stored.id))
    assert verdict == "trusted-network"                  # the anti-spoofing verdict given on receipt


async def _verdict(db, pk):
    async with db.sessions() as session:
        return await session.scalar(select(Message.auth_verdict).where(Message.id == pk))


TRIGGERS = {
    "sqlite": ["CREATE TRIGGER refuse_links BEFORE INSERT ON links BEGIN SELECT RAISE(ABORT, 'refused'); END"],
    "postgresql": ["CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ "
                   "LANGUAGE plpgsql",
                   "CREATE TRIGGER refuse_links BEFORE INSERT ON links FOR EACH ROW EXECUTE FUNCTION refuse()"],
}


async def _run_sql(db, statements):
    async with db.engine.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement))


def test_a_write_the_database_refuses_is_quarantined_then_replayed(settings):
    seed(settings)
    raw = message(subject="refused write")
    dialect = "sqlite" if settings.is_embedded else "postgresql"
    with_db(settings, lambda db: _run_sql(db, TRIGGERS[dialect]))
    with ThreadedGateway(settings) as gateway:
        assert _deliver(gateway, raw)[0] == 250
    [entry] = _entries(settings)
    assert count(settings, Message) == 0 and "refused" in entry.reason
    with pytest.raises(quarantine.QuarantineError, match="failed"):
        with_db(settings, lambda db: quarantine.replay(db, entry.id))    # still refused: stays waiting
    drop = "DROP TRIGGER refuse_links" + ("" if dialect == "sqlite" else " ON links")
    with_db(settings, lambda db: _run_sql(db, [drop]))
    done = with_db(settings, lambda db: quarantine.replay(db, entry.id))
    assert done.created and [m.raw for m in messages(settings)] == [raw]
    [entry] = _entries(settings)
    assert (entry.status, entry.attempts) == ("replayed", 2) and "replay failed" in entry.reason


@pytest.mark.parametrize("backend", ["sqlite"])
def test_when_even_the_quarantine_write_fails_the_answer_is_451(settings, monkeypatch):
    seed(settings)
    raw = message(subject="nowhere to keep it")

    async def no_quarantine(*args, **kwargs):
        raise OSError("quarantine unavailable")
    with ThreadedGateway(settings) as gateway:
        monkeypatch.setattr(filing_batch, "plan_filing", _planner_bug)
        monkeypatch.setattr(kept, "keep", no_quarantine)
        code, text_ = _deliver(gateway, raw)
        assert_reply((code, text_), "451 4.3.0")
        assert count(settings, Message) == count(settings, QuarantinedMessage) == 0
        monkeypatch.undo()
        assert _deliver(gateway, raw)[0] == 250          # the sender's retry
    assert [m.raw for m in messages(settings)] == [raw]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_replay_checks_the_sender_again(settings, monkeypatch):
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        monkeypatch.setattr(filing_batch, "plan_filing", _planner_bug)
        assert _deliver(gateway, message())[0] == 250
    monkeypatch.undo()
    with_db(settings, lambda db: _run_sql(db, ["UPDATE users SET active = false WHERE email = 'ada@acme.example'"]))
    result = smartbcc(settings, "quarantine", "replay", 1)
    assert result.exit_code == 1 and "not authorized now" in result.stderr
    [entry] = _entries(settings)
    assert (entry.status, entry.attempts) == ("waiting", 1)
    missing = smartbcc(settings, "quarantine", "replay", 99)
    assert missing.exit_code == 1 and "no quarantined message 99" in missing.stderr


def test_a_sender_retrying_a_quarantined_message_adds_no_entry(settings, monkeypatch):
    seed(settings)
    raw = message(subject="retried")
    with ThreadedGateway(settings) as gateway:
        monkeypatch.setattr(filing_batch, "plan_filing", _planner_bug)
        for _ in range(3):
            assert _deliver(gateway, raw)[0] == 250
        assert _deliver(gateway, message(subject="another"))[0] == 250
    first, other = _entries(settings)
    assert (first.raw, first.arrivals, other.arrivals) == (raw, 3, 1)
    listed = json.loads(smartbcc(settings, "quarantine", "list", "--json").stdout)
    assert [e["arrivals"] for e in listed] == [3, 1]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_discard_asks_first_and_names_unknown_entries(settings, monkeypatch):
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        monkeypatch.setattr(filing_batch, "plan_filing", _planner_bug)
        assert _deliver(gateway, message(subject="one"))[0] == 250
        assert _deliver(gateway, message(subject="two"))[0] == 250
    first, second = _entries(settings)
    options = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
               "--mail-domain", settings.mail_domain]
    declined = CliRunner().invoke(cli, [*options, "quarantine", "discard", str(first.id)], input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert len(_entries(settings)) == 2
    confirmed = CliRunner().invoke(cli, [*options, "quarantine", "discard", str(first.id)], input="y\n")
    assert confirmed.exit_code == 0 and f"Discarded quarantine entry {first.id}" in confirmed.output
    assert smartbcc(settings, "quarantine", "discard", second.id, "--yes").exit_code == 0
    assert _entries(settings) == []
    unknown = smartbcc(settings, "quarantine", "discard", "999", "--yes")
    assert unknown.exit_code == 1 and "no quarantined message 999" in unknown.stderr


@pytest.mark.parametrize("backend", ["sqlite"])
def test_replay_reads_the_header_from_as_the_live_road_does(settings, monkeypatch):
    """A From naming two mailboxes names no author: live delivery authorized the envelope sender (Ada), and
    replay must too, not the colleague the lenient reading of that From would pick."""
    seeded = seed(settings)
    with_db(settings, lambda db: users.add_user(db, "bea@acme.example", "acme", "Bea"))
    raw = message(subject="two authors", sender="bea@acme.example, mallory@evil.example")
    with ThreadedGateway(settings) as gateway:
        monkeypatch.setattr(filing_batch, "plan_filing", _planner_bug)
        assert _deliver(gateway, raw)[0] == 250
    monkeypatch.undo()
    [entry] = _entries(settings)
    assert entry.owner_user_id == seeded.user_id
    result = smartbcc(settings, "quarantine", "replay", entry.id)
    assert result.exit_code == 0, result.output
    [stored] = messages(settings)
    assert stored.owner_user_id == seeded.user_id

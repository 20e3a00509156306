"""Tasks and notifications from the command line: a task made from a message, a user's task list, overdue
tasks notified once, and the daily digest mailed through a real SMTP sink (each notification once) — on
demand and by the running gateway by itself."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from gateway.store.models import Notification
from tests.support.clitest import run_db, store_message
from tests.support.gwtest import ThreadedGateway
from tests.support.smarthost import Capture


@pytest.fixture
def smarthost(smarthost: Capture, monkeypatch: pytest.MonkeyPatch) -> Capture:
    """The shared capturing smarthost, named to the commands by their environment."""
    monkeypatch.setenv("SMARTBCC_SMARTHOST", smarthost.address)
    monkeypatch.setenv("SMARTBCC_SMARTHOST_STARTTLS", "false")
    return smarthost


def test_tasks_overdue_notices_and_the_digest(smartbcc, seeded, smarthost):
    deal = seeded.deal["id"]
    linked = store_message(smartbcc.settings, "Quote", links=(("deal", deal, "manual"),))
    other = store_message(smartbcc.settings, "Elsewhere", raw=b"Subject: x\r\n\r\nx\r\n")
    made = smartbcc.json("activity", "add", "deal", deal, "--subject", "Call Bob back", "--due", "2020-01-02",
                         "--owner", "ada@acme.example", "--message", linked)
    assert made["message_pk"] == linked and made["status"] == "planned"
    assert "is not linked to deal" in smartbcc.fails("activity", "add", "deal", deal, "--subject", "x",
                                                      "--message", other)
    smartbcc.ok("activity", "add", "deal", deal, "--subject", "Later", "--due", "2999-01-01",
                "--owner", "ada@acme.example")
    assert [t["subject"] for t in smartbcc.json("activity", "tasks", "ada@acme.example")] == ["Call Bob back",
                                                                                             "Later"]
    assert "No digest to send." in smartbcc.ok("notifications", "digest")        # nobody chose it yet
    assert "Notified 1 overdue task(s)." in smartbcc.ok("notifications", "check")
    assert "Notified 0 overdue task(s)." in smartbcc.ok("notifications", "check")
    smartbcc.ok("notifications", "set-digest", "ada@acme.example", "on")
    assert smartbcc.json("notifications", "digest") == [{"email": "ada@acme.example", "notifications": 1}]
    assert smartbcc.json("notifications", "digest") == []                        # each notification once
    [mail] = smarthost.messages
    assert mail["To"] == "ada@acme.example" and mail["Subject"] == "smartbcc: 1 new notification"
    assert "Task overdue since 2020-01-02 00:00 UTC: Call Bob back" in mail.get_content()
    assert smarthost.envelopes[0][1] == ["ada@acme.example"]
    smartbcc.ok("notifications", "set-digest", "ada@acme.example", "off")


def test_a_digest_that_cannot_be_mailed_stops_no_other_and_waits_for_the_next(smartbcc, seeded, smarthost):
    deal = seeded.deal["id"]
    smartbcc.ok("user", "add", "cy@acme.example", "--company", "acme")
    for owner in ("ada@acme.example", "cy@acme.example"):
        smartbcc.ok("activity", "add", "deal", deal, "--subject", f"Call for {owner}", "--due", "2020-01-02",
                    "--owner", owner)
        smartbcc.ok("notifications", "set-digest", owner, "on")
    assert "Notified 2 overdue task(s)." in smartbcc.ok("notifications", "check")
    smarthost.refused.add("ada@acme.example")            # the first user's digest is refused
    failed = smartbcc.fails("notifications", "digest")
    assert "mailed 1 digest(s); could not mail 1 (first: ada@acme.example:" in failed
    assert [m["To"] for m in smarthost.messages] == ["cy@acme.example"]
    smarthost.refused.clear()                            # the next digest carries what was not mailed
    assert smartbcc.json("notifications", "digest") == [{"email": "ada@acme.example", "notifications": 1}]
    assert [m["To"] for m in smarthost.messages] == ["cy@acme.example", "ada@acme.example"]


def test_the_running_gateway_notifies_overdue_tasks_and_mails_the_days_digest(smartbcc, seeded, smarthost):
    settings = smartbcc.settings.replace(notice_interval=0.1, digest_hour=0, port=0, smarthost=smarthost.address,
                                         smarthost_starttls=False)
    smartbcc.ok("activity", "add", "deal", seeded.deal["id"], "--subject", "Overdue", "--due", "2020-01-02",
                "--owner", "ada@acme.example")
    smartbcc.ok("notifications", "set-digest", "ada@acme.example", "on")
    with ThreadedGateway(settings):
        deadline = time.monotonic() + 10
        while not smarthost.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)                   # a few more rounds: no second digest the same day
    assert len(smarthost.messages) == 1 and "Overdue" in smarthost.messages[0].get_content()

    async def mailed(db):
        async with db.sessions() as session:
            return [n.mailed_at is not None for n in await session.scalars(select(Notification))]
    assert run_db(smartbcc.settings, mailed) == [True]

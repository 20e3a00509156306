"""Webhooks end to end: mail through the real SMTP server, events from the outbox POSTed by the real
gateway to a real local HTTP receiver that fails on purpose (tests.support.receiver), signed so that the
receiver can verify them, retried with backoff, dead after the last attempt and sent again by `smartbcc
webhook replay`; nothing lost when the receiver or the gateway restarts, and a redelivery carries the
same delivery id. An event exists only when what it reports committed.

The retry schedule is tiny here (settings): the tests poll for outcomes, they time nothing.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from gateway.cli import cli
from gateway.config import Settings
from gateway.services import sending, webhook_sender
from gateway.store import outbox
from gateway.store.database import Database
from gateway.store.filing import batch as filing_batch
from gateway.store.models import Deal, Message, Person, WebhookDelivery, utcnow
from tests.support.gwtest import ThreadedGateway, add_bobs, count, seed, with_db
from tests.support.rawsmtp import COMPANY, USER, Raw, message, wait_for
from tests.support.receiver import Receiver, verify
from tests.support.replies import assert_reply

FAST = dict(webhook_interval=0.05, webhook_retry_first=0.05, webhook_retry_max=0.2, webhook_attempts=4,
            webhook_timeout=1.0, webhook_allow_private=True, shutdown_timeout=2.0)
pytestmark = pytest.mark.gateway_settings(**FAST)


def smartbcc(settings: Settings, *args: object, private: bool = True):
    options = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url,
               "--mail-domain", settings.mail_domain]
    env = {f"SMARTBCC_{name.upper()}": str(value) for name, value in FAST.items()}    # as the gateway's
    env["SMARTBCC_WEBHOOK_ALLOW_PRIVATE"] = "true" if private else "false"
    return CliRunner().invoke(cli, [*options, *map(str, args)], env=env)


def add_endpoint(settings: Settings, url: str, *events: str) -> tuple[int, str]:
    result = smartbcc(settings, "webhook", "add", url, "--company", "acme",
                      *[arg for event in events for arg in ("--event", event)], "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert made["secret"].startswith("whsec_")
    return made["id"], made["secret"]


def send(gateway, raw: bytes, sender: str = USER) -> tuple[int, str]:
    with Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        assert smtp.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        code, text = smtp.cmd(f"RCPT TO:<{COMPANY}>")
        if code != 250:
            return code, text
        return smtp.data(raw)


def rows(settings: Settings) -> list[WebhookDelivery]:
    async def work(db: Database) -> list[WebhookDelivery]:
        async with db.sessions() as session:
            return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
    return with_db(settings, work)


def settled(settings: Settings, state: str, n: int) -> list[WebhookDelivery]:
    found = wait_for(lambda: [r for r in rows(settings) if r.state == state] if
                     sum(r.state == state for r in rows(settings)) >= n else [], timeout=30)
    assert len(found) >= n, rows(settings)
    return found


def test_filed_mail_reaches_the_endpoint_signed_after_failed_attempts(gateway):
    settings = gateway.settings
    with Receiver() as receiver:
        # an endpoint on this machine is refused unless the deployment allows it
        refused = smartbcc(settings, "webhook", "add", receiver.url, "--company", "acme", private=False)
        assert refused.exit_code != 0 and "webhook_allow_private" in refused.output
        endpoint, secret = add_endpoint(settings, receiver.url)
        receiver.fail_first = 2
        raw = message(subject="Quote for Carol", to="Carol New <carol@newco.example>")
        assert_reply(send(gateway, raw), "250 2.0.0")
        wait_for(lambda: receiver.delivered("message.filed") and receiver.delivered("contact.created"), timeout=30)
        [filed] = receiver.delivered("message.filed")
        [contact] = receiver.delivered("contact.created")
        for got in receiver.received:
            assert verify(secret, got.signature, got.body)
            assert not verify("whsec_other", got.signature, got.body)
        # the two refused attempts were sent again, each with its own delivery id
        failed = [got for got in receiver.received if got.answered == 500]
        assert len(failed) == 2
        assert {got.delivery for got in failed} <= {r.delivery for r in receiver.delivered()}
        carol = with_db(settings, lambda db: _person(db, "carol@newco.example"))
        assert contact.payload["data"]["contact"] == {
            "kind": "person", "id": carol, "email": "carol@newco.example", "name": "Carol New", "org_id": None,
            "owner_user_id": gateway.seed.user_id}
        event = filed.payload
        assert (event["type"], event["company"]) == ("message.filed", {"id": gateway.seed.company_id, "slug": "acme"})
        data = event["data"]
        assert data["message"]["subject"] == "Quote for Carol"
        assert data["message"]["from"] == {"email": USER, "name": ""}
        assert {"kind": "person", "id": carol} in [{"kind": r["kind"], "id": r["id"]} for r in data["records"]]
        assert data["contacts_created"] == [carol]
        assert contact.payload["data"]["message_pk"] == data["message"]["id"]
        stored = settled(settings, "delivered", 2)
        assert {r.uid for r in stored} == {filed.delivery, contact.delivery}
        assert sum(r.attempts for r in stored) == 4
        listed = smartbcc(settings, "webhook", "deliveries", "--endpoint", endpoint, "--json")
        assert listed.exit_code == 0, listed.output
        assert secret not in listed.output and "Carol" not in listed.output    # no secret, no payload
        assert {d["state"] for d in json.loads(listed.output)} == {"delivered"}
        shown = smartbcc(settings, "webhook", "list", "--json")
        assert shown.exit_code == 0 and secret not in shown.output
        assert json.loads(shown.output)[0]["url"] == receiver.url
        pinged = smartbcc(settings, "webhook", "test", endpoint)
        assert pinged.exit_code == 0 and "delivered (HTTP status 200" in pinged.output, pinged.output
        [ping] = receiver.delivered("ping")
        assert verify(secret, ping.signature, ping.body) and ping.payload["data"]["endpoint_id"] == endpoint


async def _person(db: Database, email: str) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(Person.id).where(Person.email == email)) or 0)


def test_no_event_without_its_cause(gateway, monkeypatch):
    """A refused message, and a filing rolled back after its events were written, leave no event; the
    message filed later from the quarantine sends them then."""
    settings = gateway.settings
    with Receiver() as receiver:
        add_endpoint(settings, receiver.url, "message.filed")
        code, _ = send(gateway, message(subject="spoofed", sender="mallory@evil.example"),
                       sender="mallory@evil.example")
        assert code >= 500
        written = []

        def crash_after_events(session, company_id, stored):
            real(session, company_id, stored)
            written.append(session.connection().execute(select(func.count()).select_from(WebhookDelivery)).scalar())
            raise RuntimeError("crash after the events were written")
        real = outbox.message_filed
        monkeypatch.setattr(filing_batch.outbox, "message_filed", crash_after_events)
        assert_reply(send(gateway, message(subject="rolled back")), "250 2.0.0")     # kept in the quarantine
        assert written == [1]                          # the event was written, in the filing's transaction...
        assert count(settings, WebhookDelivery) == 0 and count(settings, Message) == 0    # ...and rolled back
        monkeypatch.undo()
        replayed = smartbcc(settings, "quarantine", "replay", "1")
        assert replayed.exit_code == 0, replayed.output
        wait_for(lambda: receiver.delivered("message.filed"), timeout=30)
        assert [r.payload["data"]["message"]["subject"] for r in receiver.received] == ["rolled back"]


def test_dead_after_the_last_attempt_and_replay_delivers_it(gateway):
    settings = gateway.settings
    with Receiver() as receiver:
        endpoint, secret = add_endpoint(settings, receiver.url, "contact.created")
        receiver.fail_first = 1000
        made = smartbcc(settings, "person", "add", "--company", "acme", "--email", "dave@else.example")
        assert made.exit_code == 0, made.output
        [dead] = settled(settings, "dead", 1)
        assert (dead.attempts, dead.last_status, dead.last_error) == (4, 500, "HTTP 500")
        assert [r.delivery for r in receiver.received] == [dead.uid] * 4
        listed = smartbcc(settings, "webhook", "deliveries", "--dead", "--json")
        assert [d["delivery_id"] for d in json.loads(listed.output)] == [dead.uid]
        assert smartbcc(settings, "webhook", "list").output.splitlines()[1].split()[-2:] == ["0", "1"]
        # an inactive endpoint gets no new events
        assert smartbcc(settings, "webhook", "disable", endpoint).exit_code == 0
        assert smartbcc(settings, "person", "add", "--company", "acme", "--email", "erin@else.example").exit_code == 0
        assert enable_and_count(settings, endpoint) == 1
        receiver.fail_first = 0
        replay = smartbcc(settings, "webhook", "replay", "--all-dead", "--endpoint", endpoint)
        assert replay.exit_code == 0 and "1 delivery queued again" in replay.output
        [delivered] = settled(settings, "delivered", 1)
        [ok] = receiver.delivered()
        assert ok.delivery == delivered.uid == dead.uid and verify(secret, ok.signature, ok.body)
        assert ok.payload["data"]["contact"]["email"] == "dave@else.example"
        assert ok.payload["data"]["message_pk"] is None
        for wrong in (("replay", "999"), ("remove", "999"), ("replay",), ("add", "ftp://x.example/", "--company",
                                                                          "acme"), ("add", "https://x.example/",
                                                                                    "--company", "nope")):
            refused = smartbcc(settings, "webhook", *wrong)
            assert refused.exit_code != 0 and "Traceback" not in refused.output, refused.output
        receiver.fail_first = 1                   # a ping answered 500: said, and retried by the gateway
        failing = smartbcc(settings, "webhook", "test", endpoint)
        assert failing.exit_code == 1 and "pending (HTTP status 500, HTTP 500)" in failing.output, failing.output
        settled(settings, "delivered", 2)
        # delivered deliveries are forgotten after a week; the others stay
        pruned = with_db(settings, lambda db: webhook_sender.prune(db, utcnow() + timedelta(days=8)))
        assert pruned == 2 and count(settings, WebhookDelivery) == 0


def enable_and_count(settings: Settings, endpoint: int) -> int:
    assert smartbcc(settings, "webhook", "enable", endpoint).exit_code == 0
    return count(settings, WebhookDelivery)


def test_nothing_lost_when_receiver_and_gateway_restart(settings):
    settings = settings.replace(**{**FAST, "webhook_attempts": 1000})
    seed(settings)
    receiver = Receiver().start()
    receiver.stop()                       # down: its port refuses connections
    add_endpoint(settings, receiver.url, "message.filed")
    with ThreadedGateway(settings) as gateway:
        assert_reply(send(gateway, message(subject="while it was down")), "250 2.0.0")
        wait_for(lambda: any(r.attempts >= 1 and r.last_error for r in rows(settings)), timeout=30)
    [waiting] = rows(settings)
    assert waiting.state == "pending" and waiting.delivered_at is None
    receiver.start()                      # up again, on the same port
    receiver.hold = 1.5                   # and slow: the first attempt times out, its answer is lost
    try:
        with ThreadedGateway(settings):
            [delivered] = settled(settings, "delivered", 1)
        wait_for(lambda: len(receiver.received) == 2)     # the slow answer is counted when it is given
    finally:
        receiver.stop()
    assert [r.delivery for r in receiver.received] == [waiting.uid, waiting.uid]
    # the receiver got it twice (the sender stopped waiting for the first answer): one id, to deduplicate on
    assert delivered.uid == waiting.uid and delivered.attempts == waiting.attempts + 2


def test_a_claim_of_a_stopped_process_lapses_and_two_claims_never_share(settings):
    """A process that stopped in the middle of an attempt leaves its claim: the delivery is claimed again,
    with the same delivery id, once the claim lapses; two processes claiming at once share nothing."""
    settings = settings.replace(**FAST)
    seed(settings)
    add_endpoint(settings, "http://127.0.0.1:9/hooks", "contact.created")
    for n in range(6):
        assert smartbcc(settings, "person", "add", "--company", "acme", "--email", f"p{n}@x.example").exit_code == 0

    async def work(db: Database, other: Database) -> None:
        now = utcnow()
        first, second = await asyncio.gather(webhook_sender.claim(db, settings, now),
                                             webhook_sender.claim(other, settings, now))
        assert len(first) + len(second) == 6 and not {c.id for c in first} & {c.id for c in second}
        assert await webhook_sender.claim(db, settings, now) == []          # claimed: not due
        later = now + timedelta(seconds=webhook_sender.lease(settings) + 1)
        again = await webhook_sender.claim(db, settings, later)
        assert sorted((c.uid, c.attempts) for c in again) == sorted((c.uid, 2) for c in first + second)

    async def both(db: Database) -> None:
        other = await Database.open(settings)
        try:
            await work(db, other)
        finally:
            await other.close()
    with_db(settings, both)


DSN = (Path(__file__).parent.parent / "data" / "dsn_bounce.eml").read_bytes()


def test_review_items_and_bounces_are_told_too(gateway, smarthost):
    settings = gateway.settings
    add_bobs(settings, gateway.seed, Deal, **{"Bob's second order": "open"})     # two open deals: a review
    with Receiver() as receiver:
        add_endpoint(settings, receiver.url, "review.opened", "bounce.recorded")
        assert_reply(send(gateway, message(subject="Which deal?")), "250 2.0.0")
        sent = with_db(settings, lambda db: sending.send_from_record(
            db, "deal", gateway.seed.deal_id, USER, "bob@customer.example", "Your quote", "Hi Bob"))
        report = DSN.replace(b"To: acme@bcc.example.net", b"To: " + sent.envelope_sender.encode())
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.ehlo()
            assert smtp.cmd("MAIL FROM:<>")[0] == 250
            assert smtp.cmd(f"RCPT TO:<{sent.envelope_sender}>")[0] == 250
            assert_reply(smtp.data(report), "250 2.0.0")
        wait_for(lambda: receiver.delivered("review.opened") and receiver.delivered("bounce.recorded"), timeout=30)
        assert sorted(r.event for r in receiver.received) == ["bounce.recorded", "review.opened"]  # nothing else
        [review] = receiver.delivered("review.opened")
        item = review.payload["data"]["review_item"]
        assert (item["kind"], item["person_id"]) == ("deal", gateway.seed.person_id)
        assert gateway.seed.deal_id in item["candidates"]
        assert review.payload["data"]["message"]["subject"] == "Which deal?"
        [bounce] = receiver.delivered("bounce.recorded")
        told = bounce.payload["data"]["bounce"]
        assert (told["message_pk"], told["record"]) == (sent.message_pk, {"kind": "deal", "id": gateway.seed.deal_id})
        assert [(r["recipient"], r["status"]) for r in told["reports"]] == [("nobody@customer.example", "5.1.1")]

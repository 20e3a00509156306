"""Filing rules end to end: threads, the review queue, CRM modes, sharing, never-log lists."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select, text, update

from gateway.store.models import Company, Deal, Exclusion, Lead, Link, Message, Person, ReviewItem, User, utcnow
from tests.support.gwtest import with_db


def compose(*, sender="Ada <ada@acme.example>", to="Bob <bob@customer.example>", subject="Hello",
            message_id, in_reply_to=None, body="Hi.\n", forwarded_from=None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = "Tue, 07 Jan 2025 09:00:00 +0100"
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    if forwarded_from:
        name, address, original_subject = forwarded_from
        body = (f"FYI\n\n---------- Forwarded message ---------\nFrom: {name} <{address}>\n"
                f"Date: Mon, Jan 6, 2025 at 10:15 AM\nSubject: {original_subject}\n"
                f"To: Ada Lovelace <ada@acme.example>\n\n{body}")
    message.set_content(body)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def deliver(gateway, raw: bytes, rcpt: str = "acme@bcc.example.net") -> int:
    with smtplib.SMTP(gateway.host, gateway.port, timeout=30) as smtp:
        smtp.ehlo("client.example")
        smtp.mail("ada@acme.example")
        assert smtp.rcpt(rcpt)[0] == 250
        code, reply = smtp.data(raw)
    assert code == 250, reply
    return int(reply.rsplit(b" ", 1)[1])


def links_of(settings, message_pk: int) -> set[tuple[str, int, str]]:
    async def work(db):
        async with db.sessions() as session:
            rows = await session.execute(select(Link.kind, Link.record_id, Link.rule).where(Link.message_pk == message_pk))
            return {tuple(row) for row in rows}
    return with_db(settings, work)


def change(settings, *statements) -> None:
    async def work(db):
        async with db.sessions() as session, session.begin():
            for statement in statements:
                await session.execute(statement)
    with_db(settings, work)


def fetch(settings, query):
    async def work(db):
        async with db.sessions() as session:
            return (await session.execute(query)).all()
    return with_db(settings, work)


def test_reply_in_a_known_thread_joins_its_records(gateway, settings):
    first = deliver(gateway, compose(message_id="<t1@acme.example>"), rcpt=gateway.seed.deal_address)
    # a second open deal for Bob: auto-linking alone could no longer choose
    change(settings, Deal.__table__.insert().values(company_id=gateway.seed.company_id, title="Another",
                                                    person_id=gateway.seed.person_id, status="open",
                                                    token_version=1, created_at=utcnow()))
    reply = deliver(gateway, compose(sender="Bob <bob@customer.example>", to="Ada <ada@acme.example>",
                                     subject="Re: Hello", message_id="<t2@customer.example>",
                                     in_reply_to="<t1@acme.example>"))
    assert ("deal", gateway.seed.deal_id, "record-address") in links_of(settings, first)
    assert ("deal", gateway.seed.deal_id, "thread") in links_of(settings, reply)
    assert fetch(settings, select(ReviewItem.id)) == []


def test_several_open_deals_wait_in_review_with_ranked_candidates(gateway, settings):
    seeded = gateway.seed
    old, new = utcnow() - timedelta(days=30), utcnow() - timedelta(days=1)
    change(settings,
           update(Deal).where(Deal.id == seeded.deal_id).values(created_at=old),
           Deal.__table__.insert().values(company_id=seeded.company_id, title="Newer deal", status="open",
                                          person_id=seeded.person_id, token_version=1, created_at=new))
    [(newer_id,)] = fetch(settings, select(Deal.id).where(Deal.title == "Newer deal"))
    pk = deliver(gateway, compose(message_id="<r1@acme.example>"))
    links = links_of(settings, pk)
    assert not any(kind == "deal" for kind, _, _ in links)
    assert ("person", seeded.person_id, "participant") in links
    [(kind, person_id, candidates, status)] = fetch(
        settings, select(ReviewItem.kind, ReviewItem.person_id, ReviewItem.candidates, ReviewItem.status))
    assert (kind, person_id, status) == ("deal", seeded.person_id, "open")
    assert candidates == [newer_id, seeded.deal_id]     # most recent activity first


def test_auto_link_off_links_no_deal_and_queues_nothing(gateway, settings):
    change(settings, update(User).values(auto_link=False))
    pk = deliver(gateway, compose(message_id="<a1@acme.example>"))
    assert not any(kind == "deal" for kind, _, _ in links_of(settings, pk))
    assert fetch(settings, select(ReviewItem.id)) == []


def test_classic_mode_makes_a_lead_for_an_unknown_address(gateway, settings):
    change(settings, update(Company).where(Company.slug == "acme").values(crm_mode="classic", classic_creates="lead"))
    first = deliver(gateway, compose(to="Nina New <nina@prospect.example>", message_id="<c1@acme.example>"))
    [(lead_id, email, name)] = fetch(settings, select(Lead.id, Lead.email, Lead.name))
    assert (email, name) == ("nina@prospect.example", "Nina New")
    assert links_of(settings, first) == {("lead", lead_id, "lead-created")}
    assert fetch(settings, select(Person.id).where(Person.email == "nina@prospect.example")) == []
    second = deliver(gateway, compose(to="nina@prospect.example", message_id="<c2@acme.example>"))
    assert links_of(settings, second) == {("lead", lead_id, "participant-lead")}


def test_classic_mode_can_make_contacts_instead(gateway, settings):
    change(settings, update(Company).where(Company.slug == "acme").values(crm_mode="classic", classic_creates="contact"))
    pk = deliver(gateway, compose(to="nina@prospect.example", message_id="<c3@acme.example>"))
    [(person_id,)] = fetch(settings, select(Person.id).where(Person.email == "nina@prospect.example"))
    assert links_of(settings, pk) == {("person", person_id, "participant-created")}
    assert fetch(settings, select(Lead.id)) == []


def test_simple_mode_opens_a_deal_for_a_new_inquiry_when_asked(gateway, settings):
    raw = compose(to="acme@bcc.example.net", subject="Fwd: Pricing for 40 seats", message_id="<i1@acme.example>",
                  forwarded_from=("Quinn Query", "quinn@newlead.example", "Pricing for 40 seats"))
    change(settings, update(Company).where(Company.slug == "acme").values(deal_for_new_inquiry=True))
    pk = deliver(gateway, raw)
    [(person_id,)] = fetch(settings, select(Person.id).where(Person.email == "quinn@newlead.example"))
    [(deal_id, title, deal_person)] = fetch(settings, select(Deal.id, Deal.title, Deal.person_id)
                                            .where(Deal.title == "Pricing for 40 seats"))
    assert deal_person == person_id
    assert links_of(settings, pk) == {("person", person_id, "participant-created"),
                                      ("deal", deal_id, "inquiry-deal-created")}
    [(direction,)] = fetch(settings, select(Message.direction).where(Message.id == pk))
    assert direction == "incoming"


def test_without_the_setting_an_inquiry_opens_no_deal(gateway, settings):
    raw = compose(to="acme@bcc.example.net", subject="Fwd: Pricing", message_id="<i2@acme.example>",
                  forwarded_from=("Quinn Query", "quinn@newlead.example", "Pricing"))
    deliver(gateway, raw)
    assert fetch(settings, select(Deal.id).where(Deal.title == "Pricing")) == []


def test_sharing_default_is_stamped_at_receipt(gateway, settings):
    first = deliver(gateway, compose(message_id="<s1@acme.example>"))
    change(settings, update(User).values(default_visibility="shared"))
    second = deliver(gateway, compose(message_id="<s2@acme.example>"))
    change(settings, update(User).values(default_visibility="private"))
    rows = dict(fetch(settings, select(Message.id, Message.visibility)))
    assert rows == {first: "private", second: "shared"}


def test_never_log_addresses_and_domains(gateway, settings):
    change(settings,
           Exclusion.__table__.insert().values(company_id=gateway.seed.company_id, pattern="noreply@vendor.example",
                                               created_at=utcnow()),
           Exclusion.__table__.insert().values(company_id=gateway.seed.company_id, pattern="family.example",
                                               created_at=utcnow()))
    pk = deliver(gateway, compose(to="noreply@vendor.example, mum@family.example, zed@ok.example",
                                  message_id="<n1@acme.example>"))
    emails = {email for (email,) in fetch(settings, select(Person.email))}
    assert "zed@ok.example" in emails and not emails & {"noreply@vendor.example", "mum@family.example"}
    assert len(links_of(settings, pk)) == 1


def test_bound_on_contacts_one_message_creates(gateway, settings):
    change(settings, update(Company).where(Company.slug == "acme").values(max_new_contacts=3))
    to = ", ".join(f"p{i}@many.example" for i in range(10))
    pk = deliver(gateway, compose(to=to, message_id="<b1@acme.example>"))
    assert len([1 for kind, _, rule in links_of(settings, pk) if rule == "participant-created"]) == 3
    [(count,)] = fetch(settings, text("SELECT count(*) FROM persons WHERE email LIKE '%@many.example'"))
    assert count == 3

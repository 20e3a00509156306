"""Properties of the routing decisions (hypothesis): which rule an address hits, who may send, and
which records a message is filed on. Pure functions, so every generated case runs in microseconds."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from gateway.mail.message import ForwardedOriginal, Mailbox, ParsedMessage
from gateway.replies import RELAY_DENIED
from gateway.crm.kinds import RECORD_KINDS
from gateway.routing.bcc_address import company_address, record_address, record_token, token_matches
from gateway.routing.links import (
    DEALISH_KINDS, RULE_ONLY_OPEN, RULE_RECORD_ADDRESS, FilingContext, KnownLead, KnownPerson, OpenRecord,
    RecordRef, participants, plan_filing,
)
from gateway.routing.table import route
from gateway.auth.senders import SenderIdentity, authorize

DOMAIN = "bcc.example.net"
FAST = settings(max_examples=100, deadline=None)
SLUGS = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
ADDRESSY = st.text(alphabet=st.sampled_from(list("aAcmeE+-_.@\"<> \\\x00é1234567890dealpj")), max_size=60)


# -- the routing table ------------------------------------------------------------------------------

@FAST
@given(st.one_of(st.text(max_size=80), ADDRESSY, ADDRESSY.map(lambda local: f"{local}@{DOMAIN}")))
def test_route_never_raises_and_refuses_exactly_with_a_reply(address):
    decision = route(address, DOMAIN)
    assert decision.refused == (decision.reply is not None)
    assert decision.refused == (decision.target == "refuse")
    if not decision.refused:
        assert decision.address.endswith("@" + DOMAIN) and decision.slug


@FAST
@given(ADDRESSY.map(lambda local: f"{local}@{DOMAIN}"))
def test_case_never_changes_a_decision(address):
    lower, upper = route(address.lower(), DOMAIN), route(address.upper(), DOMAIN)
    assert (lower.rule, lower.target, lower.slug, lower.kind, lower.record_id, lower.token) == \
        (upper.rule, upper.target, upper.slug, upper.kind, upper.record_id, upper.token)


@FAST
@given(st.from_regex(r"[a-z0-9.+-]{1,20}", fullmatch=True), st.from_regex(r"[a-z]{1,10}\.(com|org|example)",
                                                                          fullmatch=True))
def test_other_domains_are_relaying_denied(local, domain):
    assert route(f"{local}@{domain}", DOMAIN).reply == RELAY_DENIED


@FAST
@given(SLUGS)
def test_every_company_address_routes_to_its_company(slug):
    decision = route(company_address(slug, DOMAIN), DOMAIN)
    assert (decision.target, decision.slug) == ("company", slug)


@FAST
@given(SLUGS, st.integers(1, 10**12), st.sampled_from(RECORD_KINDS), st.integers(1, 10**6),
       st.binary(min_size=16, max_size=32), st.integers(1, 1000))
def test_record_addresses_round_trip_and_only_their_token_matches(slug, company_id, kind, record_id, key, version):
    token = record_token(key, company_id, kind, record_id, version)
    decision = route(record_address(slug, kind, record_id, token, DOMAIN).upper(), DOMAIN)
    assert (decision.target, decision.slug, decision.kind, decision.record_id) == ("record", slug, kind, record_id)
    assert token_matches(token, decision.token)
    assert not token_matches(record_token(key, company_id, kind, record_id, version + 1), decision.token)


# -- who may send -------------------------------------------------------------------------------------

KNOWN = st.dictionaries(
    st.sampled_from(["a@x.example", "b@x.example", "c@y.example"]),
    st.tuples(st.integers(1, 3), st.sampled_from(["login", "alternate"]),
              st.sampled_from(["active", "inactive", "pending", "verified", "expired", "revoked"]), st.booleans()),
).map(lambda found: {email: SenderIdentity(email, *rest) for email, rest in found.items()})
SENDERS = st.sampled_from(["", "a@x.example", "b@x.example", "c@y.example", "z@z.example"])


@FAST
@given(KNOWN, SENDERS, st.lists(SENDERS.filter(bool), max_size=3))
def test_authorized_means_a_named_address_may_send_and_the_author_comes_first(known, envelope, authors):
    verdict = authorize(envelope, authors, known)
    senders_ok = [a for a in [*authors, envelope] if a and a in known and known[a].may_send]
    assert verdict.authorized == bool(senders_ok)
    if verdict.authorized:
        assert verdict.address == senders_ok[0] and verdict.user_id == known[senders_ok[0]].user_id
        assert verdict.matched == ("header-from" if verdict.address in authors else "envelope-sender")
    else:
        assert verdict.user_id is None


# -- which records a message is filed on ----------------------------------------------------------------

EMAILS = st.sampled_from(["bob@customer.example", "carol@customer.example", "dan@other.example",
                          "ada@acme.example", "acme@bcc.example.net", "eve@spam.example", "fay@new.example"])
BOXES = st.lists(st.builds(Mailbox, email=EMAILS, name=st.sampled_from(["", "Name"])), max_size=5).map(tuple)
REFS = st.builds(RecordRef, kind=st.sampled_from(["deal", "lead", "project", "person", "org"]),
                 id=st.integers(1, 5))


@st.composite
def cases(draw):
    message = ParsedMessage(
        message_id="<m@x>", message_id_generated=False, content_hash="0" * 64, size=1, subject="s", date=None,
        from_=draw(BOXES), sender=None, to=draw(BOXES), cc=draw(BOXES), reply_to=(), in_reply_to=(),
        references=(), text_body="", html_body="", attachments=(),
        forwarded=draw(st.none() | st.builds(ForwardedOriginal, sender=st.none() | st.builds(Mailbox, email=EMAILS),
                                             to=BOXES, subject=st.just("fwd"))),
        auto_generated=draw(st.sampled_from(["", "auto-submitted: auto-replied"])))
    person_emails = draw(st.lists(EMAILS, max_size=3, unique=True))
    persons = tuple(KnownPerson(n + 1, email, draw(st.none() | st.integers(1, 3)))
                    for n, email in enumerate(person_emails))
    context = FilingContext(
        company_id=1, mail_domain="bcc.example.net", own_addresses=frozenset({"ada@acme.example"}),
        addressed=tuple(draw(st.lists(REFS, max_size=2))), persons=persons,
        # as the store has them: one row per record, so one contact per (kind, id)
        open_records=tuple(draw(st.lists(st.builds(OpenRecord, kind=st.sampled_from(DEALISH_KINDS),
                                                   id=st.integers(1, 9), person_id=st.integers(1, 3)),
                                         max_size=5, unique_by=lambda r: (r.kind, r.id)))),
        thread_records=tuple(draw(st.lists(REFS, max_size=2))),
        org_by_domain=(("customer.example", 7),), auto_link=draw(st.booleans()),
        excluded_addresses=frozenset(draw(st.sets(EMAILS, max_size=1))),
        excluded_domains=frozenset(draw(st.sets(st.sampled_from(["spam.example", "other.example"]), max_size=1))),
        max_new_contacts=draw(st.integers(0, 3)), crm_mode=draw(st.sampled_from(["simple", "classic"])),
        classic_creates=draw(st.sampled_from(["lead", "contact"])), deal_for_new_inquiry=draw(st.booleans()),
        leads=tuple(KnownLead(20 + n, e) for n, e in enumerate(draw(st.lists(EMAILS, max_size=2, unique=True)))),
    )
    return message, context


@settings(max_examples=150, deadline=None)
@given(cases())
def test_filing_plans_stay_within_what_the_company_knows_and_allows(case):
    message, context = case
    plan = plan_filing(message, context)
    assert plan == plan_filing(message, context)                          # pure and deterministic
    found = {box.email for box in participants(message, context)}
    for email in found:                                                   # never the gateway, users, exclusions
        assert email not in context.own_addresses and not email.endswith("@" + context.mail_domain)
        assert email not in context.excluded_addresses and email.split("@")[1] not in context.excluded_domains
    created = [*plan.new_contacts, *plan.new_leads]
    assert len(created) <= context.max_new_contacts
    assert {c.email for c in created} <= found - {p.email for p in context.persons}
    if message.auto_generated:
        assert not created and not plan.new_deals
    known = {("person", p.id) for p in context.persons} | {("org", p.org_id) for p in context.persons} | \
        {("org", 7)} | {("lead", lead.id) for lead in context.leads} | \
        {(r.kind, r.id) for r in (*context.addressed, *context.thread_records, *context.open_records)}
    keys = [(link.kind, link.record_id, link.new_email) for link in plan.links]
    assert len(keys) == len(set(keys))                                    # each record linked once
    for link in plan.links:
        if link.record_id:
            assert (link.kind, link.record_id) in known, link
        else:
            assert link.new_email in {c.email for c in (*created, *plan.new_deals)}
    for ref in context.addressed:                                         # a record's own address always links it
        assert any(l.kind == ref.kind and l.record_id == ref.id for l in plan.links)
    only_open = [l for l in plan.links if l.rule in RULE_ONLY_OPEN.values()]
    if not context.auto_link:
        assert not only_open and not plan.reviews
    for link in only_open:                                                # only a contact's single open record
        record = next(r for r in context.open_records if (r.kind, r.id) == (link.kind, link.record_id))
        assert sum(1 for r in context.open_records if (r.kind, r.person_id) == (record.kind, record.person_id)) == 1
    assert all(l.rule == RULE_RECORD_ADDRESS for l in plan.links[:len(set(context.addressed))])

"""The record page's threads (gateway.mail.threads) and Save to CRM's proposal (gateway.crm.prefill):
pure tables."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.crm.prefill import Party, clean_subject, customer, propose
from gateway.mail.threads import Threaded, group_threads

T0 = datetime(2026, 11, 2, 9, tzinfo=timezone.utc)


def mail(name: str, minutes: int, *refs: str) -> Threaded[str]:
    return Threaded(f"<{name}@x>", tuple(f"<{r}@x>" for r in refs), T0 + timedelta(minutes=minutes), name)


@pytest.mark.parametrize("messages, threads", [
    ([], []),
    ([mail("a", 0), mail("b", 1)], [["b"], ["a"]]),                                  # two threads, newest first
    ([mail("a", 0), mail("b", 5, "a"), mail("c", 2)], [["b", "a"], ["c"]]),          # a reply joins its thread
    ([mail("r1", 1, "root"), mail("r2", 2, "root")], [["r2", "r1"]]),                # the root filed elsewhere
    ([mail("c", 3, "a", "b"), mail("a", 0), mail("b", 1, "a"), mail("z", 2)], [["c", "b", "a"], ["z"]]),
    ([mail("b", 1, "A"), mail("a", 0)], [["b", "a"]]),                               # ids compare without case
])
def test_threads(messages, threads):
    assert group_threads(messages) == threads


@pytest.mark.parametrize("subject, title", [
    ("Fwd: RE: Gold plan", "Gold plan"),
    ("AW: WG: Angebot", "Angebot"),
    ("Re[2]: re: FW:  Quote   for 40", "Quote for 40"),
    ("[Fwd] Re: Offer", "Offer"),
    ("Regarding: the offer", "Regarding: the offer"),
    ("Fwd:", ""),
    ("Renewal", "Renewal"),
])
def test_titles_lose_their_reply_and_forward_prefixes(subject, title):
    assert clean_subject(subject) == title


OWN = {"ada@acme.example"}
CAROL = Party("carol@client.example", "Carol")


@pytest.mark.parametrize("forwarded, boxes, found", [
    (CAROL, [Party("ada@acme.example"), Party("acme@bcc.example.net")], CAROL),     # a forward's sender
    (Party("ADA@acme.example"), [Party("ada@acme.example"), CAROL], CAROL),          # the user forwarding own mail
    (None, [Party("ada@acme.example"), Party("x@bcc.example.net"), CAROL], CAROL),  # the first outside recipient
    (None, [Party("ada@acme.example")], None),
])
def test_the_customer_is_a_forwards_sender_else_the_first_outside_participant(forwarded, boxes, found):
    assert customer(forwarded, boxes, OWN, "bcc.example.net") == found


def test_a_proposal_names_the_customer_and_their_domain_and_has_a_title_even_without_a_subject():
    proposal = propose("Fwd: Pricing", Party("Carol@Client.example", " Carol C "))
    assert (proposal.title, proposal.email, proposal.name, proposal.domain) == (
        "Pricing", "carol@client.example", "Carol C", "client.example")
    assert propose("Re:", CAROL).title == "Inquiry from Carol"
    assert propose("", None).title == "New inquiry" and propose("", None).email == ""

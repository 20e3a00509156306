"""The review queue as filing fills it, through the real SMTP server: closed, won or lost deals (and
converted or lost leads) are never candidates, a candidate closed since drops out of `review list`,
and linking the message by hand (`messages link`) resolves its item; the owner is notified of the
item, and the notification is read once nothing of the message waits."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from gateway.cli import cli
from gateway.store.models import Deal, Lead, Notification, ReviewItem
from tests.e2e.test_filing_rules import compose, deliver, fetch
from tests.support.gwtest import add_bobs


def smartbcc(gateway, *args: str):
    done = CliRunner().invoke(cli, ["--database-url", gateway.settings.effective_database_url, *args])
    assert done.exit_code == 0, done.output
    return json.loads(done.output) if "--json" in args else done.output


def add(gateway, model, **records: str) -> dict[str, int]:
    """Records of Bob's of ``model``, title -> status; their ids by title."""
    return add_bobs(gateway.settings, gateway.seed, model, **records)


def test_closed_records_are_never_offered_and_a_link_by_hand_resolves_the_item(gateway, settings):
    deals = add(gateway, Deal, **{"Second order": "open", "Won order": "won", "Lost order": "lost"})
    leads = add(gateway, Lead, **{"Lead A": "open", "Lead B": "open", "Old lead": "lost", "Done lead": "converted"})
    pk = deliver(gateway, compose(message_id="<q1@acme.example>"))
    found = {kind: sorted(candidates) for kind, candidates in fetch(settings, select(ReviewItem.kind,
                                                                                     ReviewItem.candidates))}
    assert found == {"deal": sorted([gateway.seed.deal_id, deals["Second order"]]),
                     "lead": sorted([leads["Lead A"], leads["Lead B"]])}
    # one notification for the owner, about the message
    assert fetch(settings, select(Notification.kind, Notification.user_id, Notification.message_pk)) == [
        ("review", gateway.seed.user_id, pk)]

    smartbcc(gateway, "lead", "close", str(leads["Lead A"]), "--lost")
    listed = {item["kind"]: [c["title"] for c in item["candidates"]] for item in smartbcc(gateway, "review", "list", "--json")}
    assert listed["lead"] == ["Lead B"] and sorted(listed["deal"]) == ["Bob's big order", "Second order"]

    smartbcc(gateway, "messages", "link", str(pk), "--deal", str(deals["Won order"]))   # by hand: any record
    assert [item["kind"] for item in smartbcc(gateway, "review", "list", "--json")] == ["lead"]
    [(status, record)] = fetch(settings, select(ReviewItem.status, ReviewItem.resolved_record_id)
                               .where(ReviewItem.kind == "deal"))
    assert (status, record) == ("resolved", deals["Won order"])
    # the queue itself never files on a closed record
    failed = CliRunner().invoke(cli, ["--database-url", settings.effective_database_url, "review", "resolve",
                                      str(pk), "--lead", str(leads["Lead A"])])
    assert failed.exit_code == 1 and "is lost" in failed.output
    # the owner's notification is read once nothing of the message waits any more
    assert fetch(settings, select(Notification.read_at)) == [(None,)]
    smartbcc(gateway, "review", "resolve", str(pk), "--none", "lead")
    assert fetch(settings, select(Notification.read_at.is_not(None))) == [(True,)]

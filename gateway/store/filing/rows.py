"""Writing a filed message: its row, its attachments' rows and its raw bytes (:func:`insert_message`),
then the records, links and review items of its plan (:func:`apply_plan`), and the owner's notification
of a new review item. Plain INSERTs of the tables, built once (no unit of work to track), ids back where
they are needed.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from gateway.crm.kinds import NOUNS, NotificationKind, Status
from gateway.mail.message import Mailbox
from gateway.mail.parsing import safe_instant
from gateway.routing.links import FilingPlan
from gateway.store import raw
from gateway.store.database import Database
from gateway.store.filing.delivery import Delivery, Owner, clean_text, stored_message_id
from gateway.store.models import (
    Attachment, Deal, Lead, Link, Message, Notification, Organization, Person, ReviewItem, utcnow,
)

_INSERT_MESSAGE = insert(Message).returning(Message.id)
_INSERT_ATTACHMENTS = insert(Attachment)
_INSERT_LINKS = insert(Link)
_INSERT_REVIEWS = insert(ReviewItem)
_INSERT_NOTIFICATION = insert(Notification)
# contacts and leads come back with their addresses (one multi-row INSERT, in whatever order); deals
# come back in the rows' order, which on SQLite costs an INSERT per row (they are made one at a time)
_INSERT_BY_EMAIL = {model: insert(model).returning(model.email, model.id) for model in (Person, Lead)}
_INSERT_DEALS = insert(Deal).returning(Deal.id, sort_by_parameter_order=True)
_INSERT_ORGS = insert(Organization).returning(Organization.id, sort_by_parameter_order=True)


def _boxes(boxes: Iterable[Mailbox]) -> list[dict[str, str]]:
    return [{"email": clean_text(b.email, 320), "name": clean_text(b.name, 200)} for b in boxes]


def _message_row(db: Database, delivery: Delivery, owner: Owner, direction: str,
                 notes: tuple[str, ...]) -> dict[str, Any]:
    parsed = delivery.parsed
    author = parsed.author
    forwarded = None
    if parsed.forwarded is not None:
        original = parsed.forwarded
        forwarded = {
            "sender": _boxes([original.sender])[0] if original.sender else None,
            "to": _boxes(original.to), "cc": _boxes(original.cc),
            "date": original.date.isoformat() if original.date else None,
            "subject": clean_text(original.subject), "source": original.source,
            "message_id": clean_text(original.message_id, 998),
        }
    return dict(
        company_id=delivery.company_id, owner_user_id=owner.id, visibility=owner.default_visibility,
        direction=direction,
        message_id=stored_message_id(parsed, db.mail_domain), content_hash=parsed.content_hash,
        sha256=parsed.sha256 or hashlib.sha256(delivery.raw).hexdigest(), size=len(delivery.raw),
        subject=clean_text(parsed.subject), date=safe_instant(parsed.date) if parsed.date else None,
        from_email=clean_text(author.email if author else "", 320),
        from_name=clean_text(author.name if author else "", 200),
        to_addrs=_boxes(parsed.to), cc_addrs=_boxes(parsed.cc),
        in_reply_to=[clean_text(m) for m in parsed.in_reply_to],
        references=[clean_text(m) for m in parsed.references],
        text_body=clean_text(parsed.text_body), html_body=clean_text(parsed.html_body),
        forwarded=forwarded,
        original_message_id=clean_text(parsed.forwarded.message_id, 998) or None if parsed.forwarded else None,
        auto_generated=clean_text(parsed.auto_generated, 200),
        envelope_from=clean_text(delivery.envelope_from, 320),
        envelope_rcpts=[clean_text(r, 320) for r in delivery.envelope_rcpts],
        client_address=clean_text(delivery.client_address, 64),
        parse_degraded=clean_text("\n".join(parsed.degraded)),
        filing_notes=clean_text("\n".join(notes)),
        auth_verdict=(delivery.antispoof.verdict[:32] if delivery.antispoof
                      else "pass" if delivery.authorization.authorized else "fail"),
        received_at=utcnow(),
        auth_reason=clean_text("; ".join([delivery.authorization.reason]
                                         + ([delivery.antispoof.reason] if delivery.antispoof else []))),
    )


def insert_message(session: Session, db: Database, delivery: Delivery, owner: Owner, direction: str,
                   notes: tuple[str, ...] = ()) -> int:
    """The message's row (``notes``: the participants filing made no record for, and why), its
    attachments' rows and its raw bytes; returns the row's id."""
    connection = session.connection()
    message_pk = connection.execute(_INSERT_MESSAGE,
                                    _message_row(db, delivery, owner, direction, notes)).scalar_one()
    attachments = [dict(message_pk=message_pk, filename=clean_text(a.filename, 500) or "attachment",
                        content_type=clean_text(a.content_type, 200), size=a.size, sha256=a.sha256)
                   for a in delivery.parsed.attachments]
    if attachments:
        connection.execute(_INSERT_ATTACHMENTS, attachments)
    raw.keep(session, message_pk, delivery.raw, delivery.upload)
    return message_pk


def _insert_by_email(session: Session, model: type[Person] | type[Lead],
                     rows: dict[str, dict[str, Any]]) -> dict[str, int]:
    """One INSERT for all ``rows`` of ``model``'s table (keyed by their email); their new ids by email."""
    if not rows:
        return {}
    connection = session.connection()
    ids = {email: pk for email, pk in connection.execute(_INSERT_BY_EMAIL[model], list(rows.values()))}
    return {email: ids[row["email"]] for email, row in rows.items()}


def apply_plan(session: Session, message_pk: int, plan: FilingPlan, company_id: int,
                owner: Owner, fresh: bool) -> tuple[int, int]:
    """Create the plan's records, then its links and review items; returns (links added, records made).

    ``fresh``: the message row is new in this transaction, so it has no links or review items yet.
    """
    now = utcnow()
    # every column given, its defaults included: a column left to its default is computed by SQLAlchemy
    # for each row of each INSERT (it was a tenth of filing's time)
    made = dict(company_id=company_id, owner_user_id=owner.id, created_from_message_id=message_pk,
                token_version=1, created_at=now)
    connection = session.connection()
    orgs: dict[str, int] = {}
    if plan.new_orgs:   # first: the new contacts belong to them
        org_rows = [dict(name=clean_text(org.name, 200), domain=clean_text(org.domain, 253), **made)
                    for org in plan.new_orgs]
        orgs = dict(zip((org.domain for org in plan.new_orgs),
                        connection.execute(_INSERT_ORGS, org_rows).scalars()))
    person_rows = {contact.email: dict(email=clean_text(contact.email, 320), name=clean_text(contact.name, 200),
                                       org_id=contact.org_id or orgs.get(contact.org_domain), **made)
                   for contact in plan.new_contacts}
    lead_rows = {lead.email: dict(title=clean_text(lead.title, 300), email=clean_text(lead.email, 320),
                                  name=clean_text(lead.name, 200), company_name="", status=str(Status.OPEN),
                                  **made) for lead in plan.new_leads}
    persons = _insert_by_email(session, Person, person_rows)
    leads = _insert_by_email(session, Lead, lead_rows)
    deal_rows = {deal.email: dict(title=clean_text(deal.title, 300), person_id=persons.get(deal.email),
                                  pipeline="default", status=str(Status.OPEN), **made)
                 for deal in plan.new_deals}
    deals: dict[str, int] = {}
    if deal_rows:
        deal_ids = connection.execute(_INSERT_DEALS, list(deal_rows.values())).scalars()
        deals = dict(zip(deal_rows, deal_ids))
    created: dict[tuple[str, str], int] = {
        **{("person", email): pk for email, pk in persons.items()},
        **{("lead", email): pk for email, pk in leads.items()},
        **{("deal", email): pk for email, pk in deals.items()},
        **{("org", domain): pk for domain, pk in orgs.items()},
    }
    existing: set[tuple[str, int]] = set()
    if not fresh:
        existing = set(connection.execute(
            select(Link.kind, Link.record_id).where(Link.message_pk == message_pk)).all())
    rows = []
    for planned in plan.links:
        record_id = planned.record_id or created[planned.kind, planned.new_email]
        if (planned.kind, record_id) in existing:
            continue
        existing.add((planned.kind, record_id))
        rows.append(dict(message_pk=message_pk, kind=planned.kind, record_id=record_id, rule=planned.rule,
                         created_at=now))
    if rows:      # one executemany; the links' own ids are not needed here
        connection.execute(_INSERT_LINKS, rows)
    reviewed: set[tuple[str, int]] = set()
    if plan.reviews and not fresh:
        reviewed = set(connection.execute(select(ReviewItem.kind, ReviewItem.person_id)
                                          .where(ReviewItem.message_pk == message_pk)).all())
    reviews = [dict(company_id=company_id, message_pk=message_pk, kind=review.kind, person_id=review.person_id,
                    candidates=list(review.candidates), status="open", created_at=now)
               for review in plan.reviews if (review.kind, review.person_id) not in reviewed]
    if reviews:
        connection.execute(_INSERT_REVIEWS, reviews)
        _notify_review(session, company_id, owner.id, message_pk, sorted({str(r["kind"]) for r in reviews}))
    return len(rows), len(created)


def _notify_review(session: Session, company_id: int, user_id: int, message_pk: int, kinds: list[str]) -> None:
    """Tell the owner that a message of theirs waits for a record to be chosen, in the filing's own
    transaction. The row gateway.services.notifications.notify would add: the store may not call a
    service (tests/unit/test_layers.py), so filing inserts it here."""
    what = " or ".join(NOUNS[kind] for kind in kinds)
    session.connection().execute(_INSERT_NOTIFICATION, dict(
        company_id=company_id, user_id=user_id, kind=str(NotificationKind.REVIEW), message_pk=message_pk,
        text=f"A message waits for you to choose its {what} (review queue)", created_at=utcnow()))

"""The webhook outbox: events written in the transaction of what they report, for `smartbcc serve` to POST.

An event is a row of ``webhook_deliveries`` per endpoint that wants it (gateway.services.webhooks sends
them). It is added in the caller's own transaction, so it exists exactly when what it reports was
committed: a message refused, or a filing rolled back, leaves none. Writing costs one read of the
company's active endpoints per transaction (cached in the session, like the company's facts filing
reads) and one executemany INSERT; a company without endpoints costs that one read and nothing else.

The payloads are documented in docs/WEBHOOKS.md; change them there too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Sequence

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from gateway.store.models import (
    Company, Link, Message, Person, ReviewItem, WebhookDelivery, WebhookEndpoint, utcnow,
)

if TYPE_CHECKING:
    from gateway.store.filing.delivery import Stored

MESSAGE_FILED = "message.filed"
CONTACT_CREATED = "contact.created"
REVIEW_OPENED = "review.opened"
BOUNCE_RECORDED = "bounce.recorded"
PING = "ping"                      # `smartbcc webhook test`: sent to one endpoint, whatever it wants
EVENTS = (MESSAGE_FILED, CONTACT_CREATED, REVIEW_OPENED, BOUNCE_RECORDED)

_ENDPOINTS = (select(WebhookEndpoint.id, WebhookEndpoint.events)
              .where(WebhookEndpoint.company_id == bindparam("company_id"), WebhookEndpoint.active.is_(True))
              .order_by(WebhookEndpoint.id))
_SLUG = select(Company.slug).where(Company.id == bindparam("company_id"))
_INSERT = insert(WebhookDelivery)
# what the events of a filed message tell, read only when an endpoint wants them
_MESSAGE = select(Message.message_id, Message.subject, Message.date, Message.direction, Message.from_email,
                  Message.from_name, Message.to_addrs, Message.cc_addrs, Message.owner_user_id, Message.visibility,
                  Message.size).where(Message.id == bindparam("pk"))
_CONTACTS = (select(Person.id, Person.email, Person.name, Person.org_id, Person.owner_user_id)
             .where(Person.created_from_message_id == bindparam("pk")).order_by(Person.id))
_LINKS = select(Link.kind, Link.record_id, Link.rule).where(Link.message_pk == bindparam("pk")).order_by(Link.id)
_REVIEWS = (select(ReviewItem.id, ReviewItem.kind, ReviewItem.person_id, ReviewItem.candidates)
            .where(ReviewItem.message_pk == bindparam("pk")).order_by(ReviewItem.id))
_CACHE = "smartbcc_webhook_endpoints"


@dataclass(frozen=True)
class Listeners:
    """A company's active endpoints and the events each wants, read once per transaction."""

    company_id: int
    slug: str
    endpoints: tuple[tuple[int, frozenset[str]], ...]

    def wanting(self, event: str) -> list[int]:
        return [pk for pk, events in self.endpoints if event in events]


def listeners(session: Session, company_id: int) -> Listeners | None:
    """The company's active endpoints (None: it has none), read once per transaction."""
    cache: dict[int, Listeners | None] = session.info.setdefault(_CACHE, {})
    if company_id not in cache:
        connection = session.connection()
        rows = connection.execute(_ENDPOINTS, {"company_id": company_id}).all()
        cache[company_id] = None if not rows else Listeners(
            company_id, connection.execute(_SLUG, {"company_id": company_id}).scalar_one(),
            tuple((r.id, frozenset(r.events)) for r in rows))
    return cache[company_id]


def body(event: str, company_id: int, slug: str, data: dict[str, Any], at: datetime) -> str:
    """The JSON every endpoint of the event gets, as it is signed and sent (docs/WEBHOOKS.md)."""
    return json.dumps({"id": str(uuid.uuid4()), "type": event, "created_at": at.isoformat(),
                       "company": {"id": company_id, "slug": slug}, "data": data},
                      ensure_ascii=False, separators=(",", ":"), default=str)


def enqueue(session: Session, company_id: int, events: Sequence[tuple[str, dict[str, Any]]],
            endpoint_id: int | None = None) -> int:
    """Add ``events`` (type, data) for the company's endpoints that want them (only ``endpoint_id``,
    whatever it wants, when given), in the caller's transaction; returns the rows added."""
    found = listeners(session, company_id)
    if found is None:
        return 0
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for event, data in events:
        targets = ([pk for pk, _ in found.endpoints if pk == endpoint_id] if endpoint_id is not None
                   else found.wanting(event))
        if not targets:
            continue
        text = body(event, company_id, found.slug, data, now)
        rows.extend(dict(uid=str(uuid.uuid4()), company_id=company_id, endpoint_id=pk, event=event, body=text,
                         created_at=now, state="pending", attempts=0, next_attempt_at=now, last_error="")
                    for pk in targets)
    if rows:
        session.connection().execute(_INSERT, rows)
    return len(rows)


def _box(email: str, name: str) -> dict[str, str]:
    return {"email": email, "name": name}


def contact_data(person: Any, message_pk: int | None) -> dict[str, Any]:
    return {"contact": {"kind": "person", "id": person.id, "email": person.email, "name": person.name,
                        "org_id": person.org_id, "owner_user_id": person.owner_user_id},
            "message_pk": message_pk}


def message_filed(session: Session, company_id: int, stored: "Stored") -> None:
    """The events of a message filed for the first time, for the company's endpoints that want them:
    ``message.filed``, a ``contact.created`` per contact it made, a ``review.opened`` per review item it
    opened. A copy of a message stored before adds none: its events were sent with the first."""
    found = listeners(session, company_id) if stored.created else None
    if found is None:
        return
    wanted = {event for _, events in found.endpoints for event in events}
    connection = session.connection()
    pk = stored.message_pk
    message = connection.execute(_MESSAGE, {"pk": pk}).one()
    events: list[tuple[str, dict[str, Any]]] = []
    contacts = (connection.execute(_CONTACTS, {"pk": pk}).all()
                if stored.contacts_created and wanted & {MESSAGE_FILED, CONTACT_CREATED} else [])
    if MESSAGE_FILED in wanted:
        links = connection.execute(_LINKS, {"pk": pk}).all()
        events.append((MESSAGE_FILED, {
            "message": {
                "id": pk, "message_id": message.message_id, "subject": message.subject,
                "date": message.date.isoformat() if message.date else None, "direction": message.direction,
                "from": _box(message.from_email, message.from_name), "to": message.to_addrs,
                "cc": message.cc_addrs, "owner_user_id": message.owner_user_id,
                "visibility": message.visibility, "size": message.size,
            },
            "records": [{"kind": kind, "id": record_id, "rule": rule} for kind, record_id, rule in links],
            "contacts_created": [person.id for person in contacts],
        }))
    if CONTACT_CREATED in wanted:
        events.extend((CONTACT_CREATED, contact_data(person, pk)) for person in contacts)
    if REVIEW_OPENED in wanted:
        for item in connection.execute(_REVIEWS, {"pk": pk}):
            events.append((REVIEW_OPENED, {
                "review_item": {"id": item.id, "kind": item.kind, "person_id": item.person_id,
                                "candidates": item.candidates},
                "message": {"id": pk, "subject": message.subject},
            }))
    enqueue(session, company_id, events)

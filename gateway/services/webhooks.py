"""Webhooks: a company's endpoints that hear of its events, and the outbox of their deliveries.

An admin adds an endpoint (a URL and the events it wants: gateway.store.outbox.EVENTS) with
:func:`add_endpoint`; its signing secret is shown then, once, and kept encrypted (gateway.services.secrets).
Events are written to the outbox in the transaction of what they report (gateway.store.outbox) and sent
by the running gateway (gateway.services.webhook_sender), with retries; a delivery whose attempts ran
out is dead until :func:`replay`. docs/WEBHOOKS.md describes the payloads and the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.config import Settings
from gateway.services import secrets
from gateway.services.errors import NotFound, ServiceError, company_by_slug
from gateway.store import outbox
from gateway.store.database import Database
from gateway.store.models import Company, WebhookDelivery, WebhookEndpoint, utcnow

SECRET_PREFIX = "whsec_"
STATES = ("pending", "delivered", "dead")


@dataclass(frozen=True)
class EndpointView:
    id: int
    company: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    pending: int = 0
    dead: int = 0


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: EndpointView
    secret: str              # shown once, when the endpoint is added


@dataclass(frozen=True)
class DeliveryView:
    id: int
    delivery_id: str         # the Smartbcc-Delivery header: the same on every attempt
    endpoint_id: int
    company: str
    event: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str
    delivered_at: datetime | None
    dead_at: datetime | None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Smartbcc-Signature`` header: ``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def not_public(address: str) -> bool:
    """An address a webhook must not reach unless ``webhook_allow_private``: loopback, private, link-local,
    reserved, shared (CGNAT), multicast or unspecified, also when written as an IPv4-mapped IPv6 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(settings: Settings, url: str) -> str:
    """The URL as it will be POSTed to, or ServiceError saying what is wrong with it."""
    url = url.strip()
    if len(url) > 2000:
        raise ServiceError("the webhook URL is longer than 2000 characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port        # raises on a port that is no number, or out of range
    except ValueError as error:
        raise ServiceError(f"the webhook URL cannot be read: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise ServiceError(f"a webhook URL starts with https:// (or http://), not {parts.scheme or 'nothing'}:")
    if not host:
        raise ServiceError("the webhook URL names no host")
    if parts.username is not None or parts.password is not None:
        raise ServiceError("put no user name or password in the webhook URL (it is listed in plain text); "
                           "verify the Smartbcc-Signature header instead")
    if any(ord(c) < 0x21 or ord(c) == 0x7f for c in url):
        raise ServiceError("the webhook URL contains spaces or control characters")
    if not settings.webhook_allow_private:
        if host == "localhost" or host.endswith(".localhost"):
            raise ServiceError(f"{host} is this machine; set webhook_allow_private to allow it")
        try:
            private = not_public(host)
        except ValueError:       # a name: checked when it is resolved, at each delivery
            private = False
        if private:
            raise ServiceError(f"{host} is a private address; set webhook_allow_private to allow it")
    return url


def _events(events: list[str] | tuple[str, ...]) -> list[str]:
    unknown = sorted(set(events) - set(outbox.EVENTS))
    if unknown:
        raise ServiceError(f"no event {unknown[0]!r}; the events are {', '.join(outbox.EVENTS)}")
    return [event for event in outbox.EVENTS if event in events] if events else list(outbox.EVENTS)


def _view(endpoint: WebhookEndpoint, slug: str, counts: dict[tuple[int, str], int] | None = None) -> EndpointView:
    counts = counts or {}
    return EndpointView(endpoint.id, slug, endpoint.url, list(endpoint.events), endpoint.active, endpoint.created_at,
                        counts.get((endpoint.id, "pending"), 0), counts.get((endpoint.id, "dead"), 0))


async def add_endpoint(db: Database, settings: Settings, company_slug: str, url: str,
                       events: list[str] | tuple[str, ...] = ()) -> NewEndpoint:
    """An endpoint of the company's for ``events`` (all of them when none is named), with a new secret."""
    url = check_url(settings, url)
    wanted = _events(events)
    secret = SECRET_PREFIX + random_secrets.token_urlsafe(32)
    sealed = secrets.seal(settings, secret)
    async with db.writing() as session, session.begin():
        company = await company_by_slug(session, company_slug)
        endpoint = WebhookEndpoint(company_id=company.id, url=url, events=wanted, secret=sealed, active=True,
                                   created_at=utcnow())
        session.add(endpoint)
        await session.flush()
        return NewEndpoint(_view(endpoint, company.slug), secret)


async def list_endpoints(db: Database, company_slug: str | None = None) -> list[EndpointView]:
    async with db.sessions() as session:
        query = select(WebhookEndpoint, Company.slug).join(Company, Company.id == WebhookEndpoint.company_id)
        if company_slug is not None:
            query = query.where(WebhookEndpoint.company_id == (await company_by_slug(session, company_slug)).id)
        rows = (await session.execute(query.order_by(WebhookEndpoint.id))).all()
        counts = {(endpoint_id, state): n for endpoint_id, state, n in await session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.state, func.count())
            .where(WebhookDelivery.state.in_(("pending", "dead")),
                   WebhookDelivery.endpoint_id.in_([endpoint.id for endpoint, _ in rows]))
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.state))}
        return [_view(endpoint, slug, counts) for endpoint, slug in rows]


async def _endpoint(session: AsyncSession, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    row = (await session.execute(select(WebhookEndpoint, Company.slug).join(Company)
                                 .where(WebhookEndpoint.id == endpoint_id))).one_or_none()
    if row is None:
        raise NotFound(f"no webhook endpoint with id {endpoint_id} (see `smartbcc webhook list`)")
    return row[0], row[1]


async def remove_endpoint(db: Database, endpoint_id: int) -> EndpointView:
    """Remove an endpoint and its deliveries, those still waiting too."""
    async with db.writing() as session, session.begin():
        endpoint, slug = await _endpoint(session, endpoint_id)
        await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
        await session.delete(endpoint)
        return _view(endpoint, slug)


async def set_active(db: Database, endpoint_id: int, active: bool) -> EndpointView:
    """An inactive endpoint gets no new events; those waiting wait until it is active again."""
    async with db.writing() as session, session.begin():
        endpoint, slug = await _endpoint(session, endpoint_id)
        endpoint.active = active
        return _view(endpoint, slug)


def _delivery_view(row: WebhookDelivery, slug: str) -> DeliveryView:
    return DeliveryView(row.id, row.uid, row.endpoint_id, slug, row.event, row.state, row.attempts, row.created_at,
                        row.next_attempt_at if row.state == "pending" else None, row.last_status, row.last_error,
                        row.delivered_at, row.dead_at)


async def deliveries(db: Database, *, state: str | None = None, endpoint_id: int | None = None,
                     company_slug: str | None = None, limit: int = 50) -> list[DeliveryView]:
    """The newest deliveries first, of one state, endpoint or company when given."""
    async with db.sessions() as session:
        query = select(WebhookDelivery, Company.slug).join(Company, Company.id == WebhookDelivery.company_id)
        if state is not None:
            query = query.where(WebhookDelivery.state == state)
        if endpoint_id is not None:
            await _endpoint(session, endpoint_id)
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        if company_slug is not None:
            query = query.where(WebhookDelivery.company_id == (await company_by_slug(session, company_slug)).id)
        rows = await session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit))
        return [_delivery_view(row, slug) for row, slug in rows]


async def replay(db: Database, delivery_ids: list[int] | None = None, *, endpoint_id: int | None = None) -> int:
    """Send deliveries again from their first attempt, with the same delivery id: the ones named, or
    (``delivery_ids`` None) every dead one (of ``endpoint_id`` when given). Returns how many."""
    async with db.writing() as session, session.begin():
        query = update(WebhookDelivery).where(WebhookDelivery.state != "pending")
        if delivery_ids is not None:
            found = set(await session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.id.in_(delivery_ids))))
            missing = sorted(set(delivery_ids) - found)
            if missing:
                raise NotFound(f"no webhook delivery with id {missing[0]} (see `smartbcc webhook deliveries`)")
            query = query.where(WebhookDelivery.id.in_(delivery_ids))
        else:
            query = query.where(WebhookDelivery.state == "dead")
            if endpoint_id is not None:
                await _endpoint(session, endpoint_id)
                query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        result = await session.execute(query.values(state="pending", attempts=0, next_attempt_at=utcnow(),
                                                    dead_at=None, delivered_at=None))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def ping(db: Database, endpoint_id: int, hold: float = 0.0) -> int:
    """Put a ``ping`` event in the outbox for this endpoint alone, due in ``hold`` seconds (the caller
    sends it before the serving processes would); returns its delivery's row id."""
    async with db.writing() as session, session.begin():
        endpoint, _ = await _endpoint(session, endpoint_id)
        if not endpoint.active:
            raise ServiceError(f"webhook endpoint {endpoint_id} is inactive; `smartbcc webhook enable "
                               f"{endpoint_id}` first")
        data: dict[str, Any] = {"endpoint_id": endpoint_id, "events": list(endpoint.events)}
        await session.run_sync(lambda sync: outbox.enqueue(sync, endpoint.company_id, [(outbox.PING, data)],
                                                           endpoint_id=endpoint_id))
        pk = int(await session.scalar(select(func.max(WebhookDelivery.id))
                                      .where(WebhookDelivery.endpoint_id == endpoint_id)) or 0)
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.id == pk)
                              .values(next_attempt_at=utcnow() + timedelta(seconds=hold)))
        return pk


async def contact_created(session: AsyncSession, person: Any, message_pk: int | None = None) -> None:
    """Tell the company's endpoints of a contact made in ``session``'s transaction (flushed: it has its id)."""
    await session.run_sync(outbox.enqueue, person.company_id,
                           [(outbox.CONTACT_CREATED, outbox.contact_data(person, message_pk))])


def unseal_secret(settings: Settings, sealed: str) -> str:
    try:
        return secrets.unseal(settings, sealed)
    except ServiceError:
        raise ServiceError("a webhook's signing secret cannot be decrypted with this mailbox_key: remove the "
                           "endpoint and add it again") from None

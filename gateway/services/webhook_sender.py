"""Sending the webhook outbox: claim the deliveries that are due, POST each, record what happened.

A round claims up to :data:`BATCH` due deliveries in one short transaction: their ``next_attempt_at``
moves past the attempt's longest possible end (the claim's lease) and their attempt is counted, so
another process serving the same database skips them (on PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets
two processes claim at once without waiting for each other; SQLite has one writer at a time). Then
each is POSTed, signed (gateway.services.webhooks.sign); a 2xx answer marks it delivered, anything
else (another status, a redirect, a timeout, a refused connection) schedules the next attempt after
``webhook_retry_first`` seconds, doubling up to ``webhook_retry_max``, with a fifth of jitter either way;
after ``webhook_attempts`` attempts it is dead (`smartbcc webhook replay`).

A round sends each endpoint's deliveries in the order they were written, one at a time, until one fails
(the others are due again at once, their attempt not counted: a failing endpoint is not hammered) or
the round has lasted ``webhook_timeout`` (an attempt started then ends before the claims lapse); then
it records every outcome in one transaction. A failed delivery is retried later while the next ones
go: the order is not guaranteed. Delivery is at least once: a process stopped in the middle of a round
leaves its claims, which lapse, and the deliveries are sent again with the same ``Smartbcc-Delivery``
id.

Neither the URL (some carry a token in their path) nor the secret nor the payload is logged: an endpoint
is named by its id, a delivery by its id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from sqlalchemy import delete, select, update

from gateway.config import Settings
from gateway.services.webhooks import not_public, sign, unseal_secret
from gateway.store.database import Database
from gateway.store.faults import describe
from gateway.store.models import WebhookDelivery, WebhookEndpoint, utcnow

log = logging.getLogger("smartbcc.webhooks")
BATCH = 50            # deliveries claimed at once
USER_AGENT = "smartbcc-webhooks/1"
KEEP_DELIVERED = timedelta(days=7)    # delivered deliveries are listed this long, then deleted
PRUNE_EVERY = 3600.0                  # seconds between two deletions of those, in each serving process


@dataclass(frozen=True)
class Claimed:
    id: int
    uid: str
    endpoint_id: int
    event: str
    body: str
    attempts: int          # counting this one
    url: str
    secret: str            # sealed


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    state: str             # delivered, pending (to be retried) or dead
    status: int | None
    error: str


def retry_delay(settings: Settings, attempts: int) -> float:
    """Seconds before the next attempt of a delivery that failed ``attempts`` times."""
    delay = min(settings.webhook_retry_max, settings.webhook_retry_first * 2 ** min(attempts - 1, 60))
    return delay * random.uniform(0.8, 1.2)


def lease(settings: Settings) -> float:
    """Seconds a claim holds a delivery: its attempt has ended by then (resolving, connecting, answering)."""
    return 2 * settings.webhook_timeout + 1


async def claim(db: Database, settings: Settings, now: datetime, only: int | None = None) -> list[Claimed]:
    """Claim the due deliveries of active endpoints, oldest first (or the one ``only``, due or not)."""
    due = (select(WebhookDelivery.id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
           .where(WebhookDelivery.state == "pending", WebhookEndpoint.active.is_(True))
           .order_by(WebhookDelivery.id).limit(BATCH))
    # ``only``: a ping `smartbcc webhook test` wrote held back from the serving processes (its due time
    # in the future, as if claimed), for the command to send
    due = due.where(WebhookDelivery.id == only) if only is not None else due.where(WebhookDelivery.next_attempt_at <= now)
    async with db.sessions() as session:     # a plain read first: no write lock taken while nothing is due
        if await session.scalar(due.limit(1)) is None:
            return []
    async with db.writing() as session, session.begin():
        ids = list(await session.scalars(due.with_for_update(skip_locked=True, of=WebhookDelivery)))
        if not ids:
            return []
        await session.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).values(
            next_attempt_at=now + timedelta(seconds=lease(settings)), attempts=WebhookDelivery.attempts + 1))
        rows = await session.execute(
            select(WebhookDelivery.id, WebhookDelivery.uid, WebhookDelivery.endpoint_id, WebhookDelivery.event,
                   WebhookDelivery.body, WebhookDelivery.attempts, WebhookEndpoint.url, WebhookEndpoint.secret)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.id.in_(ids)).order_by(WebhookDelivery.id))
        return [Claimed(*row) for row in rows]


async def _refuse_private(settings: Settings, url: str) -> str:
    """Why the URL's host may not be reached ("" when it may): it resolves to a non-public address."""
    if settings.webhook_allow_private:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    for info in infos:
        address = str(info[4][0])
        if not_public(address):
            return f"refused: {host} resolves to the private address {address} (webhook_allow_private)"
    return ""


async def attempt(client: httpx.AsyncClient, settings: Settings, item: Claimed) -> tuple[int | None, str]:
    """POST one delivery; (the HTTP status, "") when an answer came, else (None, why not). The whole
    attempt (resolving the host, connecting, sending, the answer's head) takes ``webhook_timeout`` at most."""
    try:
        async with asyncio.timeout(settings.webhook_timeout):
            refused = await _refuse_private(settings, item.url)
            if refused:
                return None, refused
            body = item.body.encode()
            headers = {
                "Content-Type": "application/json", "User-Agent": USER_AGENT,
                "Smartbcc-Event": item.event, "Smartbcc-Delivery": item.uid,
                "Smartbcc-Signature": sign(unseal_secret(settings, item.secret), int(time.time()), body),
            }
            async with client.stream("POST", item.url, content=body, headers=headers,
                                     timeout=settings.webhook_timeout) as response:
                return response.status_code, ""      # the answer's body is not read
    except (TimeoutError, httpx.TimeoutException):
        return None, f"no answer within {settings.webhook_timeout:g} s"
    except (httpx.HTTPError, OSError, ValueError) as error:     # the URL is not repeated (it may hold a token)
        return None, f"{type(error).__name__}: {error}".replace(item.url, "<url>")[:500]


def outcome(settings: Settings, item: Claimed, status: int | None, error: str, now: datetime) -> dict[str, object]:
    """What an attempt makes of its delivery: delivered (a 2xx), due again later, or dead."""
    values: dict[str, object] = {"last_status": status, "last_error": error or f"HTTP {status}"}
    if status is not None and 200 <= status < 300:
        values.update(state="delivered", delivered_at=now, last_error="")
    elif item.attempts >= settings.webhook_attempts:
        values.update(state="dead", dead_at=now)
    else:
        values.update(next_attempt_at=now + timedelta(seconds=retry_delay(settings, item.attempts)))
    return values


async def finish(db: Database, settings: Settings, tried: list[tuple[Claimed, int | None, str]],
                 untried: list[Claimed]) -> list[Attempt]:
    """Record a round in one transaction: each attempt's outcome; the deliveries not tried are due again
    at once, their attempt not counted. A delivery replayed or claimed again meanwhile (its claim lapsed)
    is left to that."""
    now = utcnow()
    attempts = []
    async with db.writing() as session, session.begin():
        for item, status, error in tried:
            values = outcome(settings, item, status, error, now)
            await session.execute(update(WebhookDelivery).where(
                WebhookDelivery.id == item.id, WebhookDelivery.state == "pending",
                WebhookDelivery.attempts == item.attempts).values(**values))
            attempts.append(Attempt(item.id, str(values.get("state", "pending")), status, str(values["last_error"])))
        if untried:
            await session.execute(update(WebhookDelivery).where(
                WebhookDelivery.id.in_([item.id for item in untried]), WebhookDelivery.state == "pending")
                .values(attempts=WebhookDelivery.attempts - 1, next_attempt_at=now))
    for (item, _, _), done in zip(tried, attempts):
        log.log(logging.INFO if done.state == "delivered" else logging.WARNING,
                "webhook delivery %d (%s, endpoint %d, attempt %d): %s", item.id, item.event, item.endpoint_id,
                item.attempts, done.state if done.state != "pending" else f"failed ({done.error}), retried later")
    return attempts


async def prune(db: Database, now: datetime) -> int:
    """Delete the deliveries delivered more than :data:`KEEP_DELIVERED` ago (dead ones stay until
    replayed or their endpoint is removed); returns how many."""
    old = (WebhookDelivery.state == "delivered", WebhookDelivery.delivered_at < now - KEEP_DELIVERED)
    async with db.sessions() as session:     # a plain read first: no write lock taken for nothing
        if await session.scalar(select(WebhookDelivery.id).where(*old).limit(1)) is None:
            return 0
    async with db.writing() as session, session.begin():
        result = await session.execute(delete(WebhookDelivery).where(*old))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Sender:
    """Sends the outbox: :meth:`run` in `smartbcc serve`, :meth:`round` once (`smartbcc webhook test`)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def round(self, only: int | None = None) -> list[Attempt]:
        """Claim what is due and send it: the endpoints at once, each one's deliveries in turn (see
        :meth:`_send`), and record the round."""
        claimed = await claim(self.db, self.settings, utcnow(), only)
        if not claimed:
            return []
        by_endpoint: dict[int, list[Claimed]] = defaultdict(list)
        for item in claimed:
            by_endpoint[item.endpoint_id].append(item)
        started = asyncio.get_running_loop().time()
        sent = await asyncio.gather(*(self._send(items, started) for items in by_endpoint.values()))
        return await finish(self.db, self.settings, [one for tried, _ in sent for one in tried],
                            [item for _, untried in sent for item in untried])

    async def _send(self, items: list[Claimed], started: float) -> tuple[list[tuple[Claimed, int | None, str]],
                                                                         list[Claimed]]:
        """One endpoint's deliveries in order, until one fails (the endpoint is not hammered while it
        fails) or the round has lasted ``webhook_timeout``: an attempt started then still ends before
        the claims lapse. Returns the attempts, and the deliveries not tried."""
        loop = asyncio.get_running_loop()
        tried: list[tuple[Claimed, int | None, str]] = []
        for n, item in enumerate(items):
            if loop.time() - started >= self.settings.webhook_timeout:
                return tried, items[n:]
            status, error = await attempt(self.client, self.settings, item)
            tried.append((item, status, error))
            if status is None or not 200 <= status < 300:
                return tried, items[n + 1:]
        return tried, []

    async def run(self, quiet: asyncio.Event) -> None:
        """Send what is due every ``webhook_interval`` seconds (at once again after a full round) until
        ``quiet`` is set; now and then, forget the deliveries delivered long ago."""
        pruned = -PRUNE_EVERY
        warned: float | None = None       # when a failure was last logged: a line a minute while it lasts
        while not quiet.is_set():
            sent = 0
            try:
                if time.monotonic() - pruned >= PRUNE_EVERY:
                    pruned = time.monotonic()
                    await prune(self.db, utcnow())
                sent = len(await self.round())
                warned = None
            except Exception as error:     # the database is unavailable: the next round tries again
                if warned is None or time.monotonic() - warned >= 60:
                    warned = time.monotonic()
                    log.warning("could not send webhooks (%s); trying again", describe(error))
            if sent >= BATCH:
                continue
            try:
                await asyncio.wait_for(quiet.wait(), self.settings.webhook_interval)
            except asyncio.TimeoutError:
                pass

    async def close(self) -> None:
        await self.client.aclose()

"""The reads that turn an envelope into decisions' inputs: who a recipient is, who the senders are.

Shared by the live SMTP dialogue (gateway.handlers.smtp) and by replaying a quarantined message
(gateway.services.quarantine), so that both take the same road: route -> resolve -> authorize -> store.
``smartbcc routes test`` (gateway.services.routes) prints the steps :func:`resolve_recipient` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import BindParameter, CompoundSelect, Connection, Select, bindparam, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from gateway.crm.kinds import RECORD_NOUNS
from gateway.replies import RECIPIENT_OK, UNKNOWN_MAILBOX, Reply
from gateway.routing.bcc_address import token_matches
from gateway.routing.links import RecordRef
from gateway.routing.table import Route, route
from gateway.auth.senders import Authorization, SenderIdentity, authorize
from gateway.store.database import Database
from gateway.store.models import (
    RECORD_MODELS, AlternateAddress, Bounce, Company, FormerSlug, OutboundMail, User, utcnow,
)

BOUNCES_PER_MESSAGE = 50     # reports kept per sent message; one per recipient is what a real bounce brings
from gateway.auth.alternates import alias_status


@dataclass(frozen=True)
class CompanyRef:
    """What the SMTP dialogue needs of a company."""

    id: int
    slug: str
    antispoof_mode: str
    antispoof_policy: str


@dataclass(frozen=True)
class Steps:
    """What resolving a routed address found, step by step (None: the step was not reached). The live
    RCPT hook acts on the :class:`Target`; ``smartbcc routes test`` prints these steps, so what it
    explains is what the server did."""

    company: str | None = None          # 1. the slug of the company the address names, if any
    former_slug: bool = False           #    named by a former slug still in its grace period
    record_exists: bool | None = None   # 2. a record address: the record is that company's
    token_current: bool | None = None   # 3. ... and the address carries its current token


@dataclass(frozen=True)
class Target:
    """What a recipient address resolved to: a company, maybe one of its records or a confirmation."""

    company: CompanyRef | None = None
    record: RecordRef | None = None
    verify_alias_id: int | None = None
    bounce_id: int | None = None   # the sent message (outbound_mail row) a bounce address names
    why: str = ""                  # in words: why it was refused, or what it was accepted for
    steps: Steps = Steps()

    @property
    def accepted(self) -> bool:
        return self.company is not None

    @property
    def reply(self) -> Reply:
        """The answer to RCPT TO for this address alone (the transaction's own rules aside)."""
        return RECIPIENT_OK if self.company is not None else UNKNOWN_MAILBOX


def _company_columns(former: int) -> Select[int, int, str, str | None, str | None]:
    return select(literal(former).label("former"), Company.id, Company.slug, Company.antispoof_mode,
                  Company.antispoof_policy)


_SLUG: BindParameter[str] = bindparam("slug")
_BY_SLUG = union_all(     # the company using the slug now, or the one whose former slug it still is
    _company_columns(0).where(Company.slug == _SLUG),
    _company_columns(1).join(FormerSlug, FormerSlug.company_id == Company.id)
    .where(FormerSlug.slug == _SLUG, FormerSlug.expires_at > bindparam("now")),
)


def company_of_slug(reads: Connection | Session, slug: str, now: datetime) -> tuple[CompanyRef | None, bool]:
    """The company whose address uses ``slug``, now or as a former slug still in its grace period;
    and whether it was the former slug that matched."""
    rows = sorted(reads.execute(_BY_SLUG, {"slug": slug, "now": now}).all(), key=lambda row: row.former)
    if not rows:
        return None, False
    row = rows[0]
    return CompanyRef(row.id, row.slug, row.antispoof_mode or "", row.antispoof_policy or ""), bool(row.former)


# the same rows without the grace period's bound, for the cache: a former slug's expiry is checked when used
_BY_SLUG_KEPT: CompoundSelect[Any] = union_all(
    select(literal(1).label("former"), Company.id, Company.slug, Company.antispoof_mode, Company.antispoof_policy,
           FormerSlug.expires_at)
    .join(FormerSlug, FormerSlug.company_id == Company.id).where(FormerSlug.slug == _SLUG),
    select(literal(0), Company.id, Company.slug, Company.antispoof_mode, Company.antispoof_policy, null())
    .where(Company.slug == _SLUG),
)


def _kept_company_of_slug(db: Database, reads: Connection, slug: str,
                          now: datetime) -> tuple[CompanyRef | None, bool]:
    """:func:`company_of_slug`, from what the process keeps while the companies are unchanged."""
    rows = db.lookups.get(reads, ("slug", slug),
                          lambda connection: tuple(connection.execute(_BY_SLUG_KEPT, {"slug": slug}).all()))
    usable = sorted((row for row in rows if not row.former or row.expires_at > now), key=lambda row: row.former)
    if not usable:
        return None, False
    row = usable[0]
    return CompanyRef(row.id, row.slug, row.antispoof_mode or "", row.antispoof_policy or ""), bool(row.former)


_RECORDS = {kind: select(model.company_id, model.token_version).where(model.id == bindparam("record_id"))
            for kind, model in RECORD_MODELS.items()}


async def resolve_recipient(db: Database, decision: Route) -> Target:
    """The company (and record, or pending confirmation) a routed address names, as of now, with the
    steps that led there."""
    now = utcnow()
    company, former = await db.reader.run(lambda reads: _kept_company_of_slug(db, reads, decision.slug, now))
    if company is None:
        return Target(why=f"no company {decision.slug!r} (nor a former address in its grace period)")
    steps = Steps(company.slug, former)
    if decision.target == "company":
        return Target(company, why=f"accepted for company {company.slug!r}", steps=steps)
    if decision.target == "record":     # records change with every filing: read each time, one statement
        noun = f"{RECORD_NOUNS[decision.kind]} {decision.record_id}"
        statement = _RECORDS[decision.kind]
        record = await db.reader.run(
            lambda reads: reads.execute(statement, {"record_id": decision.record_id}).one_or_none())
        if record is None or record.company_id != company.id:
            return Target(why=f"no {noun} in company {company.slug!r}", steps=replace(steps, record_exists=False))
        expected = db.record_token(company.id, decision.kind, decision.record_id, record.token_version)
        steps = replace(steps, record_exists=True, token_current=token_matches(expected, decision.token))
        if not steps.token_current:
            return Target(why=f"the token is not the current one for {noun} (rotated or mistyped)", steps=steps)
        return Target(company, RecordRef(decision.kind, decision.record_id), steps=steps,
                      why=f"accepted for {noun} of company {company.slug!r}")
    async with db.sessions() as session:
        if decision.target == "verify":
            alias = await session.scalar(select(AlternateAddress).where(
                AlternateAddress.reply_token == decision.token, AlternateAddress.company_id == company.id))
            if alias is None or alias_status(alias.status, alias.code_expires_at, now) != "pending":
                return Target(why="no pending address confirmation with that token", steps=steps)
            return Target(company, verify_alias_id=alias.id, steps=steps,
                          why=f"accepted as the confirmation reply for {alias.email}")
        if decision.target == "bounce":
            sent = await session.scalar(select(OutboundMail.id).where(
                OutboundMail.token == decision.token, OutboundMail.company_id == company.id))
            if sent is None:
                return Target(why="no message sent with that bounce token", steps=replace(steps, token_current=False))
            kept = await session.scalar(select(func.count()).select_from(Bounce).where(Bounce.outbound_id == sent)) or 0
            if kept >= BOUNCES_PER_MESSAGE:     # a flood to a known address: what came is kept, no more
                return Target(why=f"sent message {sent} has {kept} reports already (bound {BOUNCES_PER_MESSAGE})",
                              steps=replace(steps, token_current=True))
            return Target(company, bounce_id=sent, steps=replace(steps, token_current=True),
                          why=f"accepted as a bounce of sent message {sent}")
    raise ValueError(f"route target {decision.target!r} is not one a recipient resolves to")


async def addressed_records(db: Database, company_id: int, rcpts: Iterable[str]) -> tuple[RecordRef, ...]:
    """The records whose own addresses are among ``rcpts`` and still resolve (for a replay)."""
    found: list[RecordRef] = []
    for address in rcpts:
        decision = route(address, db.mail_domain)
        if decision.refused or decision.target != "record":
            continue
        target = await resolve_recipient(db, decision)
        if target.company is not None and target.company.id == company_id and target.record is not None:
            if target.record not in found:
                found.append(target.record)
    return tuple(found)


async def sender_identities(db: Database, company_id: int, addresses: Iterable[str]) -> dict[str, SenderIdentity]:
    """What the company knows of each address: a user's login or an alternate, in its state."""
    wanted = sorted({a for a in addresses if a})
    if not wanted:
        return {}
    found: dict[str, SenderIdentity] = {}

    def read(connection: Connection) -> tuple[Any, ...]:
        return tuple(connection.execute(_IDENTITIES, {"company_id": company_id, "wanted": wanted}).all())

    rows = await db.reader.run(lambda reads: db.lookups.get(reads, ("senders", company_id, *wanted), read))
    for row in sorted(rows, key=lambda row: row.what != "login"):     # a login wins over an alternate
        status = row.status if row.what == "alternate" else "active" if row.active else "inactive"
        found.setdefault(row.email, SenderIdentity(row.email, row.user_id, row.what, status, bool(row.active)))
    return found


async def authorize_sender(db: Database, company_id: int, envelope_from: str, author: str,
                           author_problem: str = "") -> Authorization:
    """Who sends this message, as the company knows its users today: the one road that the live DATA hook
    and quarantine replay both take. ``author``: the header From read strictly (gateway.auth.author), or
    "" with ``author_problem`` saying why it names nobody."""
    authors = [author] if author else []
    identities = await sender_identities(db, company_id, [*authors, envelope_from])
    return authorize(envelope_from, authors, identities, author_problem)


_COMPANY_ID: BindParameter[int] = bindparam("company_id")
_WANTED: BindParameter[list[str]] = bindparam("wanted", expanding=True)
_IDENTITIES = union_all(    # the addresses' logins and alternates, in one trip
    select(literal("login").label("what"), User.email.label("email"), User.id.label("user_id"),
           literal("").label("status"), User.active.label("active"))
    .where(User.company_id == _COMPANY_ID, User.email.in_(_WANTED)),
    select(literal("alternate"), AlternateAddress.email, AlternateAddress.user_id, AlternateAddress.status,
           User.active)
    .join(User, AlternateAddress.user_id == User.id)
    .where(AlternateAddress.company_id == _COMPANY_ID, AlternateAddress.email.in_(_WANTED)),
)

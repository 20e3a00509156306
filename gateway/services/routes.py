"""`smartbcc routes test`: the routing decision for one address, then what the store says about it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select

from gateway.replies import RECIPIENT_OK, UNKNOWN_MAILBOX
from gateway.routing.bcc_address import token_matches
from gateway.routing.table import Route, route
from gateway.services.records import NOUNS
from gateway.store.database import Database
from gateway.store.lookup import company_of_slug
from gateway.store.models import RECORD_MODELS, AlternateAddress, utcnow
from gateway.auth.alternates import alias_status


@dataclass(frozen=True)
class RouteExplanation:
    address: str
    rule: str                      # the routing-table rule the address hit
    target: str                    # company, record, verify or refuse
    reason: str
    reply: str | None              # the table's own refusal, if any
    slug: str = ""
    kind: str = ""
    record_id: int = 0
    token: str = ""
    database_checked: bool = False
    database_note: str = ""        # why the database was not consulted
    company: str | None = None     # the company the slug names now, if any
    former_slug: bool = False      # named by an address retired by a domain change, still in its grace period
    record_exists: bool | None = None
    token_current: bool | None = None
    accepted: bool | None = None   # None: cannot tell without the database
    verdict: str = ""
    final_reply: str = ""          # what the gateway answers to RCPT TO


def _decision(decision: Route) -> RouteExplanation:
    return RouteExplanation(decision.address, decision.rule, decision.target, decision.reason,
                            str(decision.reply) if decision.reply else None, decision.slug, decision.kind,
                            decision.record_id, decision.token)


def _refused(found: RouteExplanation, why: str) -> RouteExplanation:
    return replace(found, accepted=False, verdict=f"refused: {why}", final_reply=str(UNKNOWN_MAILBOX))


async def explain_route(address: str, mail_domain: str, db: Database | None = None,
                        database_note: str = "") -> RouteExplanation:
    """Explain ``address``; with ``db`` also check the company, record and token as the server does."""
    decision = route(address, mail_domain)
    found = _decision(decision)
    if decision.refused:
        return replace(found, accepted=False, verdict=f"refused by rule {decision.rule}: {decision.reason}",
                       final_reply=str(decision.reply))
    if db is None:
        return replace(found, database_note=database_note,
                       verdict="cannot tell whether it is accepted without the database")
    found = replace(found, database_checked=True)
    now = utcnow()
    async with db.sessions() as session:
        company, former = await session.run_sync(company_of_slug, decision.slug, now)
        found = replace(found, former_slug=former)
        if company is None:
            return _refused(found, f"no company {decision.slug!r} (nor a former address in its grace period)")
        found = replace(found, company=company.slug)
        if decision.target == "company":
            return replace(found, accepted=True, verdict=f"accepted for company {company.slug!r}",
                           final_reply=str(RECIPIENT_OK))
        if decision.target == "verify":
            alias = await session.scalar(select(AlternateAddress).where(
                AlternateAddress.reply_token == decision.token, AlternateAddress.company_id == company.id))
            if alias is None or alias_status(alias.status, alias.code_expires_at, now) != "pending":
                return _refused(found, "no pending address confirmation with that token")
            return replace(found, accepted=True, final_reply=str(RECIPIENT_OK),
                           verdict=f"accepted as the confirmation reply for {alias.email}")
        record = await session.get(RECORD_MODELS[decision.kind], decision.record_id)
        noun = f"{NOUNS[decision.kind]} {decision.record_id}"
        if record is None or record.company_id != company.id:
            return _refused(replace(found, record_exists=False), f"no {noun} in company {company.slug!r}")
        expected = db.record_token(company.id, decision.kind, record.id, record.token_version)
        current = token_matches(expected, decision.token)
        found = replace(found, record_exists=True, token_current=current)
        if not current:
            return _refused(found, f"the token is not the current one for {noun} (rotated or mistyped)")
        return replace(found, accepted=True, final_reply=str(RECIPIENT_OK),
                       verdict=f"accepted for {noun} of company {company.slug!r}")

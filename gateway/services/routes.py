"""`smartbcc routes test`: the routing decision for one address, then the steps of the live RCPT resolution.

With a database, the verdict is what gateway.store.lookup.resolve_recipient (the function the RCPT hook
calls) returns, its steps shown as they are: nothing here checks the company, record or token itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gateway.routing.table import Route, route
from gateway.store.database import Database
from gateway.store.lookup import resolve_recipient


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


async def explain_route(address: str, mail_domain: str, db: Database | None = None,
                        database_note: str = "") -> RouteExplanation:
    """Explain ``address``; with ``db``, resolve it as the RCPT hook does and show the resolution's steps."""
    decision = route(address, mail_domain)
    found = _decision(decision)
    if decision.refused:
        return replace(found, accepted=False, verdict=f"refused by rule {decision.rule}: {decision.reason}",
                       final_reply=str(decision.reply))
    if db is None:
        return replace(found, database_note=database_note,
                       verdict="cannot tell whether it is accepted without the database")
    target = await resolve_recipient(db, decision)
    steps = target.steps
    return replace(found, database_checked=True, company=steps.company, former_slug=steps.former_slug,
                   record_exists=steps.record_exists, token_current=steps.token_current,
                   accepted=target.accepted, verdict=target.why if target.accepted else f"refused: {target.why}",
                   final_reply=str(target.reply))

"""The routing table: which rule a recipient address hits, first match wins.

The table is data: an ordered tuple of named rules, each a pattern over the normalized local part.
:func:`route` is pure; the SMTP handler then checks the named company and record against the store.
``smartbcc routes test ADDRESS`` prints the same decision with its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.mail.address import InvalidAddress, normalize_domain, normalize_email, split_email
from gateway.replies import BAD_ADDRESS, RELAY_DENIED, UNKNOWN_MAILBOX, Reply
from gateway.crm.kinds import RECORD_KINDS

_SLUG = r"(?P<slug>[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)"


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str] | None   # over the local part; None: matches any local part
    target: str                       # "company", "record", "verify", "bounce" or "refuse"
    reply: Reply | None = None        # the refusal, for target "refuse"
    description: str = ""


@dataclass(frozen=True)
class Route:
    """The decision for one recipient: the rule it hit and what that rule extracted."""

    address: str
    rule: str
    target: str
    reason: str
    reply: Reply | None = None
    slug: str = ""
    kind: str = ""
    record_id: int = 0
    token: str = ""

    @property
    def refused(self) -> bool:
        return self.reply is not None


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\A{pattern}\Z")


# The order: the three tagged shapes (slug+verify-, slug+bounce-, slug+<kind>-) cannot match one another's
# addresses; a plain slug has no "+", so the company rule cannot take a tagged address; what is left is
# unknown.
ROUTING_TABLE: tuple[Rule, ...] = (
    Rule("verify-reply", _compile(rf"{_SLUG}\+verify-(?P<token>[a-z0-9]{{6,64}})"), "verify",
         description="a reply that confirms an alternate sender address"),
    Rule("bounce-address", _compile(rf"{_SLUG}\+bounce-(?P<token>[a-z2-7]{{16,32}})"), "bounce",
         description="the envelope sender of one message sent from a record: its bounces come here"),
    Rule("record-address",
         _compile(rf"{_SLUG}\+(?P<kind>{'|'.join(RECORD_KINDS)})-(?P<record_id>[1-9][0-9]{{0,17}})"
                  r"-(?P<token>[a-z2-7]{4,32})"),
         "record", description="one CRM record's own address"),
    Rule("company-address", _compile(_SLUG), "company", description="the company-wide address"),
    Rule("unknown-address", None, "refuse", UNKNOWN_MAILBOX,
         description="nothing else at the mail domain exists"),
)


def _check_table(table: tuple[Rule, ...]) -> None:
    names = [rule.name for rule in table]
    if len(set(names)) != len(names):
        raise ValueError(f"routing rules must have unique names: {names}")
    if not table or table[-1].pattern is not None:
        raise ValueError("the last routing rule must match every address")
    for rule in table:
        if (rule.target == "refuse") != (rule.reply is not None):
            raise ValueError(f"rule {rule.name}: a refusing rule needs a reply, and only it")


_check_table(ROUTING_TABLE)


def route(address: str, mail_domain: str, table: tuple[Rule, ...] = ROUTING_TABLE) -> Route:
    """Decide what a RCPT address names. Trusts only the envelope address it is given."""
    try:
        normalized = normalize_email(address)
    except InvalidAddress as error:
        return Route(address, "malformed", "refuse", str(error), BAD_ADDRESS)
    local, domain = split_email(normalized)
    if domain != normalize_domain(mail_domain):
        return Route(normalized, "foreign-domain", "refuse",
                     f"{domain} is not the gateway's mail domain {mail_domain}", RELAY_DENIED)
    for rule in table:
        match = rule.pattern.match(local) if rule.pattern is not None else None
        if rule.pattern is not None and match is None:
            continue
        groups = match.groupdict() if match else {}
        return Route(
            normalized, rule.name, rule.target, rule.description, rule.reply,
            slug=groups.get("slug", ""), kind=groups.get("kind", ""),
            record_id=int(groups.get("record_id") or 0), token=groups.get("token", ""),
        )
    raise AssertionError("the routing table ends with a rule that matches everything")

"""DMARC's pure parts (RFC 7489): the policy record, and the outcome for a header From domain given
the SPF and DKIM results (alignment: ``gateway.auth.alignment``)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.alignment import aligned
from gateway.auth.verdicts import Dkim, Dmarc, Spf

POLICIES = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class DmarcRecord:
    """A published policy: where it was found (the From domain or its organizational domain)."""

    domain: str
    policy: str
    adkim: str = "r"
    aspf: str = "r"


def parse_record(texts: list[str], domain: str, for_subdomain: bool = False) -> DmarcRecord | None:
    """The one ``v=DMARC1`` record among a name's TXT strings; None when there is none, several, or
    one without a valid ``p=`` (RFC 7489 6.6.3). ``sp=`` applies when the From domain is a subdomain."""
    records = [t for t in texts if t.replace(" ", "").lower().startswith("v=dmarc1")]
    if len(records) != 1:
        return None
    tags: dict[str, str] = {}
    for part in records[0].split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip().lower())
    policy = tags.get("p", "")
    if policy not in POLICIES:
        return None
    if for_subdomain and tags.get("sp") in POLICIES:
        policy = tags["sp"]
    return DmarcRecord(domain, policy, "s" if tags.get("adkim") == "s" else "r",
                       "s" if tags.get("aspf") == "s" else "r")


def evaluate(from_domain: str, record: DmarcRecord | None, spf: Spf | None, dkim: tuple[Dkim, ...],
             record_error: bool = False) -> Dmarc:
    """The DMARC outcome for ``from_domain``. Without a record the result is ``none``, and ``aligned``
    still tells whether an SPF or DKIM pass aligns with it (relaxed), which the strict policy asks for."""
    adkim = record.adkim if record else "r"
    aspf = record.aspf if record else "r"
    policy = record.policy if record else ""
    aligned_spf = spf.result if spf is not None and aligned(spf.domain, from_domain, aspf) else None
    dkim_aligned = [d for d in dkim if aligned(d.domain, from_domain, adkim)]
    passed = aligned_spf == "pass" or any(d.result == "pass" for d in dkim_aligned)
    pending = aligned_spf == "temperror" or any(d.result == "temperror" for d in dkim_aligned)
    if record_error:
        result = "temperror"          # the record (and so adkim/aspf and p=) is unknown: try again later
    elif record is None:
        result = "none"
    elif passed:
        result = "pass"
    else:
        result = "temperror" if pending else "fail"
    return Dmarc(result, from_domain, policy, aligned=passed, pending=pending)

"""The anti-spoofing decision: pure, over plain results, so a table test covers every rule.

Given the SPF, DKIM, DMARC and ARC results (checked here, or read from a trusted relay's
Authentication-Results), the mode and policy, and the address that authorized the message
(``gateway.auth.senders``), :func:`decide` says accept, refuse (550 5.7.1) or defer (451 4.7.0).

The checks must vouch for *that* address's domain: an SPF pass for some other envelope domain, or a
DKIM signature of some other domain, proves nothing about ``ada@acme.com``. Policies:

- ``default``: accepted when SPF passes for an envelope sender in the sender's organizational domain,
  or a DKIM signature of that domain verifies (or a DMARC pass says either); anything else counts as a
  fail, ``softfail``, ``neutral`` and ``none`` included, as Gmail treats mail with neither an SPF nor
  a DKIM pass as unauthenticated. Also refused: a DMARC fail for a header From whose policy is
  ``reject``. Forwarded mail whose SPF and DKIM broke on the way is accepted when a valid ARC chain,
  sealed last by a trusted sealer, reports such a pass for the sender's domain.
- ``strict``: the header From's domain must pass DMARC (an SPF or DKIM pass aligned as its record says;
  relaxed when it publishes none), and the authorizing address must be in that domain. No ARC override.

A check that failed temporarily (DNS timeout, SERVFAIL) and could have changed the answer defers the
message (451), so the sending server retries; nothing is accepted without a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.alignment import aligned, domain_of


@dataclass(frozen=True)
class Spf:
    result: str          # pass fail softfail neutral none permerror temperror
    domain: str          # the identity checked: the MAIL FROM domain, or the HELO name for a null sender
    detail: str = ""


@dataclass(frozen=True)
class Dkim:
    result: str          # pass fail permerror temperror policy (verifies, but l= leaves part of the body out)
    domain: str          # the signature's d=
    selector: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Dmarc:
    result: str          # pass fail none temperror
    domain: str          # the header From domain
    policy: str = ""     # the published p= (sp= for a subdomain); "" without a record
    aligned: bool = False     # an SPF or DKIM pass aligns with the domain (relaxed without a record)
    pending: bool = False     # no aligned pass, but an aligned check failed temporarily


@dataclass(frozen=True)
class Arc:
    result: str                          # pass fail none temperror
    sealer: str = ""                     # d= of the newest ARC-Seal
    reported: "Results | None" = None    # what that sealer's ARC-Authentication-Results say
    detail: str = ""


@dataclass(frozen=True)
class Results:
    spf: Spf | None = None
    dkim: tuple[Dkim, ...] = ()
    dmarc: Dmarc | None = None
    arc: Arc | None = None
    note: str = ""       # e.g. that the trusted relay wrote no Authentication-Results


@dataclass(frozen=True)
class Case:
    """Everything the decision needs."""

    mode: str                  # none / upstream / verify
    policy: str                # default / strict
    sender: str                # the address that authorized the message (gateway.auth.senders)
    from_domain: str = ""      # the header From domain DMARC speaks about
    trusted_client: str = ""   # the client address, when it is in trusted_networks
    results: Results | None = None
    trusted_sealers: tuple[str, ...] = ()    # ARC sealer domains; "*" trusts any valid seal


@dataclass(frozen=True)
class Judgement:
    action: str      # accept / refuse / defer
    verdict: str     # stored on an accepted message: pass, arc-pass, upstream-pass, trusted-network, ...
    reason: str      # why, then spf=...; dkim=...; dmarc=...; arc=...

    @property
    def accepted(self) -> bool:
        return self.action == "accept"


def decide(case: Case) -> Judgement:
    if case.mode == "none":
        return Judgement("accept", "none-mode", "anti-spoofing is off (mode none)")
    if case.trusted_client:
        return Judgement("accept", "trusted-network", f"client {case.trusted_client} is in trusted_networks")
    results = case.results or Results()
    prefix = "upstream-" if case.mode == "upstream" else ""
    action, verdict, why = (_strict if case.policy == "strict" else _default)(case, results)
    verdict = f"{prefix}{verdict}" if action == "accept" else verdict
    return Judgement(action, verdict, f"{why}; {describe(results)}")


def _default(case: Case, results: Results) -> tuple[str, str, str]:
    domain = domain_of(case.sender)
    vouchers = _vouchers(results, domain)
    arc = results.arc
    arc_ok = arc is not None and _arc_vouches(arc, domain, case.trusted_sealers)
    dmarc = results.dmarc
    rejected = dmarc is not None and dmarc.result == "fail" and dmarc.policy == "reject"
    if vouchers and not rejected:
        return "accept", "pass", f"{domain} authenticated by {'+'.join(vouchers)}"
    if arc_ok:
        assert arc is not None
        return "accept", "arc-pass", f"forwarded: the ARC chain sealed by {arc.sealer} vouches for {domain}"
    if rejected:
        assert dmarc is not None
        return "refuse", "fail", f"DMARC fails for header From {dmarc.domain}, whose policy is reject"
    if _pending(results, domain) or (arc is not None and arc.result == "temperror"):
        return "defer", "temperror", f"a check for {domain} failed temporarily"
    return "refuse", "fail", f"neither SPF nor DKIM passes for {domain or 'the sender'}"


def _strict(case: Case, results: Results) -> tuple[str, str, str]:
    domain = domain_of(case.sender)
    dmarc = results.dmarc
    if not case.from_domain or not aligned(domain, case.from_domain):
        return "refuse", "fail", f"the sender {case.sender} is not in the header From's domain"
    if dmarc is None:
        return "refuse", "fail", f"no DMARC result for header From {case.from_domain}"
    if dmarc.result == "pass" or (dmarc.result == "none" and dmarc.aligned):
        return "accept", "pass", f"DMARC-aligned pass for header From {dmarc.domain}"
    if dmarc.result == "temperror" or dmarc.pending:
        return "defer", "temperror", f"DMARC for {dmarc.domain} failed temporarily"
    return "refuse", "fail", f"no DMARC-aligned pass for header From {dmarc.domain}"


def _vouchers(results: Results, domain: str) -> list[str]:
    spf, dmarc = results.spf, results.dmarc
    found = []
    if spf is not None and spf.result == "pass" and aligned(spf.domain, domain):
        found.append("spf")
    if any(d.result == "pass" and aligned(d.domain, domain) for d in results.dkim):
        found.append("dkim")
    if dmarc is not None and dmarc.result == "pass" and aligned(dmarc.domain, domain):
        found.append("dmarc")
    return found


def _pending(results: Results, domain: str) -> bool:
    """Whether an SPF or DKIM check that could vouch for ``domain`` failed temporarily. (A DMARC pass
    needs one of those, so DMARC trouble alone cannot turn a refusal into an acceptance.)"""
    spf = results.spf
    return ((spf is not None and spf.result == "temperror" and aligned(spf.domain, domain))
            or any(d.result == "temperror" and aligned(d.domain, domain) for d in results.dkim))


def sealer_trusted(sealer: str, trusted: tuple[str, ...]) -> bool:
    sealer = sealer.lower().rstrip(".")
    return bool(sealer) and any(t == "*" or sealer == t or sealer.endswith("." + t) for t in trusted)


def _arc_vouches(arc: Arc, domain: str, trusted: tuple[str, ...]) -> bool:
    return (arc.result == "pass" and arc.reported is not None and sealer_trusted(arc.sealer, trusted)
            and bool(_vouchers(arc.reported, domain)))


def describe(results: Results, nested: bool = False) -> str:
    """``spf=pass (smtp.mailfrom=acme.example); dkim=...; dmarc=...; arc=...`` for the stored reason;
    ``nested``: only what an ARC sealer reported (spf, dkim, dmarc)."""
    parts = []
    spf = results.spf
    parts.append(f"spf={spf.result} (smtp.mailfrom={spf.domain or '-'}{_detail(spf.detail)})" if spf else "spf=none")
    for d in results.dkim:
        parts.append(f"dkim={d.result} (header.d={d.domain or '-'} s={d.selector or '-'}{_detail(d.detail)})")
    if not results.dkim:
        parts.append("dkim=none (no signature)")
    dmarc = results.dmarc
    if dmarc is not None:
        policy = f" p={dmarc.policy}" if dmarc.policy else " no record"
        parts.append(f"dmarc={dmarc.result} (header.from={dmarc.domain or '-'}{policy}"
                     f"{', aligned pass' if dmarc.aligned and dmarc.result != 'pass' else ''})")
    else:
        parts.append("dmarc=none")
    if nested:
        return ", ".join(parts)
    arc = results.arc
    if arc is not None and arc.result != "none":
        reported = f", reports {describe(arc.reported, nested=True)}" if arc.reported is not None else ""
        parts.append(f"arc={arc.result} (sealer={arc.sealer or '-'}{_detail(arc.detail)}{reported})")
    else:
        parts.append("arc=none")
    if results.note:
        parts.append(results.note)
    return "; ".join(parts)


def _detail(text: str) -> str:
    return f": {text}" if text else ""

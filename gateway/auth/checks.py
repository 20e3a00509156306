"""The checks, with the libraries: pyspf for SPF, dkimpy for DKIM and ARC, DMARC record and alignment
here (``gateway.auth.dmarc``), all through one dnspython resolver (``gateway.auth.resolver``).

The libraries block, so :func:`verify` runs SPF, DKIM, ARC and the DMARC record look-up in worker
threads side by side, and gives up after a few DNS timeouts' worth of time with ``temperror``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import warnings

import dkim
from dkim.canonicalization import CanonicalizationPolicy

from gateway.auth import dmarc
from gateway.auth.alignment import domain_of, org_domain
from gateway.auth.resolver import Dns, TemporaryDnsError
from gateway.auth.upstream import parse, to_results
from gateway.auth.verdicts import Arc, Dkim, Results, Spf

with warnings.catch_warnings():      # pyspf 2.0.14 has regex escapes newer Pythons warn about when compiling
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import spf

log = logging.getLogger("smartbcc.auth")
MIN_KEY_BITS = 1024
SPF_TIMEOUTS = 4         # an SPF evaluation may take this many DNS timeouts in all (RFC 7208 4.6.4: 20 s)

# pyspf looks names up through its module-level ``DNSLookup`` (its plug point between DNS libraries).
# It is pointed, once, at the resolver of the check running in this thread's context.
_current_dns: contextvars.ContextVar[Dns] = contextvars.ContextVar("smartbcc_spf_dns")


def _spf_dns_lookup(name: str, qtype: str, strict: object = True, timeout: float = 20) -> list:
    resolver = _current_dns.get(None)
    if resolver is None:
        resolver = _default_dns()
    return resolver.spf_lookup(name, qtype, strict, timeout)


_fallback: list[Dns] = []


def _default_dns() -> Dns:
    if not _fallback:
        _fallback.append(Dns(None, 20))
    return _fallback[0]


spf.DNSLookup = _spf_dns_lookup


def check_spf(resolver: Dns, client_ip: str, mail_from: str, helo: str) -> Spf:
    """SPF of the client address for the envelope sender (for a null sender: the HELO name)."""
    identity = domain_of(mail_from) if mail_from else (helo or "").lower()
    if not identity or not client_ip:
        return Spf("none", identity, "nothing to check")
    token = _current_dns.set(resolver)
    try:
        result, explanation = spf.check2(i=client_ip, s=mail_from, h=helo or identity,
                                         timeout=resolver.timeout, querytime=SPF_TIMEOUTS * resolver.timeout)
    except Exception as error:  # noqa: BLE001 - pyspf raising on odd input is a permanent error, not ours
        result, explanation = "permerror", f"{type(error).__name__}: {error}"
    finally:
        _current_dns.reset(token)
    return Spf(result, identity, str(explanation or "")[:200])


def check_dkim(resolver: Dns, raw: bytes) -> tuple[Dkim, ...]:
    """Every DKIM-Signature, each verified on its own."""
    try:
        count = sum(1 for name, _ in dkim.DKIM(raw).headers if name.lower() == b"dkim-signature")
    except dkim.DKIMException as error:
        return (Dkim("permerror", "", "", f"message not readable for DKIM: {error}"[:200]),)
    return tuple(_one_signature(resolver, raw, index) for index in range(count))


def _one_signature(resolver: Dns, raw: bytes, index: int) -> Dkim:
    missing: list[bytes] = []

    def key(name: bytes, timeout: float = 5) -> bytes | None:
        found = resolver.dkim_key(name, timeout)
        if found is None:
            missing.append(name)
        return found

    signer = dkim.DKIM(raw, minkey=MIN_KEY_BITS, timeout=resolver.timeout)
    try:
        ok = signer.verify(idx=index, dnsfunc=key)
        result = "pass" if ok else "fail"
        detail = "" if ok else (f"no key at {missing[0].decode('ascii', 'replace').rstrip('.')}" if missing
                                else "signature does not verify")
        if missing and not ok:
            result = "permerror"
        if ok:
            result, detail = _vouches(signer)
    except TemporaryDnsError as error:
        result, detail = "temperror", str(error)
    except dkim.ValidationError as error:
        result, detail = "fail", str(error).split(" (got ")[0]
    except dkim.DKIMException as error:
        result, detail = "permerror", str(error)
    fields = getattr(signer, "signature_fields", None) or {}
    domain = (getattr(signer, "domain", None) or fields.get(b"d") or b"").decode("ascii", "replace").lower()
    selector = (getattr(signer, "selector", None) or fields.get(b"s") or b"").decode("ascii", "replace")
    return Dkim(result, domain, selector, detail[:200])


def _vouches(signer: dkim.DKIM) -> tuple[str, str]:
    """What a signature that verifies is worth: a pass only when it covers the author and the whole body.

    RFC 6376 6.1.1: a signature whose ``h=`` leaves out From must be ignored (PERMFAIL), since anyone
    could then put any author above it. A body length ``l=`` shorter than the body vouches for the
    first ``l`` bytes only: whatever follows was added by anyone (RFC 6376 8.2), so it is not a pass
    (``policy``, RFC 8601 2.7.1: signed, but not acceptably)."""
    signed = [name.strip().lower() for name in signer.include_headers]
    if b"from" not in signed:
        return "permerror", "h= does not cover From (RFC 6376 6.1.1)"
    fields = signer.signature_fields
    if b"l" in fields:
        canonical = CanonicalizationPolicy.from_c_value(fields.get(b"c", b"simple/simple"))
        length = len(canonical.canonicalize_body(signer.body))
        if int(fields[b"l"]) < length:
            return "policy", f"l={int(fields[b'l'])} covers part of a {length}-byte body"
    return "pass", ""


def check_arc(resolver: Dns, raw: bytes, from_domain: str) -> Arc:
    """The ARC chain; on ``pass``, what its newest sealer's ARC-Authentication-Results report."""
    try:
        cv, sets, comment = dkim.ARC(raw, minkey=MIN_KEY_BITS, timeout=resolver.timeout).verify(
            dnsfunc=resolver.dkim_key)
    except TemporaryDnsError as error:
        return Arc("temperror", detail=str(error))
    except (dkim.DKIMException, IndexError, KeyError, ValueError) as error:
        return Arc("fail", detail=f"{type(error).__name__}: {error}")
    result = cv.decode("ascii") if cv is not None else "fail"
    if result == "none" or not sets:
        return Arc(result)
    newest = sets[0]
    sealer = newest.get("as-domain", b"").decode("ascii", "replace").lower()
    reported = None
    header = parse(newest.get("aar-value", b"").decode("utf-8", "replace"))
    if header is not None and result == "pass":
        reported = to_results(header, from_domain)
    return Arc(result, sealer, reported, "" if comment == "success" else str(comment)[:200])


def dmarc_record(resolver: Dns, from_domain: str) -> tuple[dmarc.DmarcRecord | None, bool]:
    """The From domain's policy, else its organizational domain's; (record, whether DNS failed)."""
    try:
        record = dmarc.parse_record(resolver.txt(f"_dmarc.{from_domain}"), from_domain)
        org = org_domain(from_domain)
        if record is None and org != from_domain:
            record = dmarc.parse_record(resolver.txt(f"_dmarc.{org}"), org, for_subdomain=True)
    except TemporaryDnsError as error:
        log.info("DMARC record of %s: %s", from_domain, error)
        return None, True
    return record, False


async def verify(resolver: Dns, raw: bytes, *, client_ip: str, helo: str, mail_from: str,
                 from_domain: str) -> Results:
    """All checks for one message, off the event loop."""
    async def nothing() -> tuple[None, bool]:
        return None, False

    spf_task = asyncio.to_thread(check_spf, resolver, client_ip, mail_from, helo)
    dkim_task = asyncio.to_thread(check_dkim, resolver, raw)
    arc_task = asyncio.to_thread(check_arc, resolver, raw, from_domain)
    record_task = asyncio.to_thread(dmarc_record, resolver, from_domain) if from_domain else nothing()
    spf_result, dkim_results, arc, (record, record_error) = await asyncio.gather(
        spf_task, dkim_task, arc_task, record_task)
    outcome = dmarc.evaluate(from_domain, record, spf_result, dkim_results, record_error) if from_domain else None
    return Results(spf_result, dkim_results, outcome, arc)

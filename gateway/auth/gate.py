"""What the SMTP handler asks at the end of DATA: may this authorized sender's message in?

:meth:`Antispoof.judge` picks the mode and policy (the company's override, else the deployment's),
skips the checks for a client in ``trusted_networks``, gathers the results (checked here, or the
trusted relay's Authentication-Results) and applies :func:`gateway.auth.verdicts.decide`.

In ``upstream`` mode the relay's Authentication-Results are believed only when the client connecting
is in ``upstream_networks``: anyone can write a header in the relay's name. Any other client is a
stranger, and its message gets the ``verify`` checks here (451 when they cannot run). The deployment
refuses to start in upstream mode without ``upstream_networks``; a company that chooses upstream mode
while the setting is empty has every client treated as a stranger. A refusal
or a deferral is raised as a :class:`Refusal` carrying its reply; an acceptance returns the
:class:`Judgement` whose verdict and reason are stored on the message.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import replace
from typing import Any

from gateway.auth import checks
from gateway.auth.alignment import domain_of
from gateway.auth.resolver import Dns
from gateway.auth.upstream import upstream_results
from gateway.auth.verdicts import Case, Judgement, Results, decide
from gateway.config import (
    ANTISPOOF_MODES, ANTISPOOF_POLICIES, ConfigError, Settings, check_antispoof, networks,
)
from gateway.replies import AUTHENTICATION_DEFERRED, NOT_AUTHENTICATED, Refusal
from gateway.auth.senders import Authorization

log = logging.getLogger("smartbcc.auth")
CHECK_TIMEOUTS = 6     # all checks of one message together take at most this many DNS timeouts


class Antispoof:
    def __init__(self, settings: Settings) -> None:
        check_antispoof(settings)
        self.settings = settings
        self.trusted_networks = networks(settings.trusted_networks)
        self.upstream_networks = networks(settings.upstream_networks, "upstream_networks")
        self.trusted_sealers = tuple(s.strip().lower().rstrip(".")
                                     for s in settings.arc_trusted_sealers.replace(" ", ",").split(",") if s.strip())
        self._dns: Dns | None = None
        if settings.antispoof == "verify":
            try:
                self._dns = Dns.from_settings(settings)
            except ConfigError as error:     # said now; every message checked meanwhile gets 451
                log.error("anti-spoofing cannot check anything: %s", error)

    @property
    def dns(self) -> Dns:
        if self._dns is None:
            try:
                self._dns = Dns.from_settings(self.settings)
            except ConfigError as error:
                raise Refusal(AUTHENTICATION_DEFERRED, str(error)) from None
        return self._dns

    async def judge(self, company_id: int, raw: bytes, author: str, authorization: Authorization,
                    envelope_from: str, session: Any, company_modes: tuple[str, str]) -> Judgement:
        """``author``: the header From's address as sender authorization read it (``gateway.auth.author``),
        "" when it names none plainly (then DMARC has no From domain to speak about, and the strict
        policy refuses); ``company_modes``: the company's own (antispoof_mode, antispoof_policy), as
        read with the recipient ("" for the deployment's)."""
        mode, policy = self._modes(company_id, company_modes)
        client = client_address(session)
        from_domain = domain_of(author) if author else ""
        trusted = client if client and _within(client, self.trusted_networks) else ""
        results: Results | None = None
        stranger = ""
        if mode == "upstream" and not trusted and not (client and _within(client, self.upstream_networks)):
            stranger = f"client {client or '(unknown)'} is not in upstream_networks: checked here"
            mode = "verify"
        if mode == "upstream" and not trusted:
            results = upstream_results(raw, self.settings.upstream_authserv_id, from_domain)
        elif mode == "verify" and not trusted:
            results = await self._verify(raw, client, getattr(session, "host_name", "") or "",
                                         envelope_from, from_domain)
            if stranger:
                results = replace(results, note="; ".join(filter(None, [stranger, results.note])))
        judgement = decide(Case(mode, policy, authorization.address, from_domain, trusted, results,
                                self.trusted_sealers))
        if judgement.action == "refuse":
            raise Refusal(NOT_AUTHENTICATED, f"{mode}/{policy}: {judgement.reason}")
        if judgement.action == "defer":
            raise Refusal(AUTHENTICATION_DEFERRED, f"{mode}/{policy}: {judgement.reason}")
        return judgement

    async def _verify(self, raw: bytes, client: str, helo: str, envelope_from: str, from_domain: str) -> Results:
        limit = CHECK_TIMEOUTS * self.settings.dns_timeout
        try:
            return await asyncio.wait_for(checks.verify(
                self.dns, raw, client_ip=client, helo=helo, mail_from=envelope_from, from_domain=from_domain),
                timeout=limit)
        except TimeoutError:
            raise Refusal(AUTHENTICATION_DEFERRED, f"the checks took over {limit:g} s") from None

    def _modes(self, company_id: int, known: tuple[str, str]) -> tuple[str, str]:
        own_mode, own_policy = known
        mode, policy = self.settings.antispoof, self.settings.antispoof_policy
        if own_mode:
            if own_mode in ANTISPOOF_MODES:
                mode = own_mode
            else:
                log.warning("company %d: unknown antispoof_mode %r, using %r", company_id, own_mode, mode)
        if own_policy:
            if own_policy in ANTISPOOF_POLICIES:
                policy = own_policy
            else:
                log.warning("company %d: unknown antispoof_policy %r, using %r", company_id, own_policy, policy)
        if mode == "upstream" and not self.settings.upstream_authserv_id.strip():
            log.error("company %d uses antispoof mode upstream, but upstream_authserv_id is not set", company_id)
            raise Refusal(AUTHENTICATION_DEFERRED, "mode upstream without upstream_authserv_id")
        return mode, policy


def _within(client: str, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    """Whether the client address is in one of ``nets``."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in nets)


def client_address(session: Any) -> str:
    """The client's IP address as text; an IPv4-mapped IPv6 address as plain IPv4."""
    peer = getattr(session, "peer", None)
    text = str(peer[0]) if isinstance(peer, tuple) and peer else ""
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return text
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return str(address.ipv4_mapped)
    return str(address)

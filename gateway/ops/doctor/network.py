"""The checks that look outside the machine: the MX and the outbound SPF (through the configured
resolver), the smarthost (connect, STARTTLS, login), and the ports the gateway listens on."""

from __future__ import annotations

import asyncio
import errno
import http.client
import ipaddress
import socket

import aiosmtplib

from gateway.auth.alignment import domain_of
from gateway.auth.checks import check_spf
from gateway.auth.resolver import Dns, TemporaryDnsError
from gateway.config import ConfigError, Settings, listen_hosts
from gateway.ops.doctor import Finding, error, ok, warning
from gateway.services.smarthost import OutboundError, smarthost_address

LOCAL_SUFFIXES = (".localhost", ".test", ".example", ".invalid", ".local", ".lan", ".internal")
TIMEOUT = 10.0          # seconds the smarthost may take to answer
PROBE_TIMEOUT = 5.0     # seconds what listens on a busy port may take to say it is smartbcc


def is_local_name(domain: str) -> bool:
    """A name no public DNS can hold (RFC 2606, 6761, 6762): mail from the Internet cannot reach it."""
    name = "." + domain.lower().rstrip(".")
    return name == ".localhost" or name.endswith(LOCAL_SUFFIXES) or "." not in domain.strip(".")


async def mx(settings: Settings) -> list[Finding]:
    domain = settings.mail_domain.lower().rstrip(".")
    if is_local_name(domain):
        return [warning("dns mx", f"mail_domain {domain} is a local name: mail from the Internet cannot reach it",
                        "set mail_domain (SMARTBCC_MAIL_DOMAIN) to the domain your MX record is published for")]
    try:
        dns = Dns.from_settings(settings)
    except ConfigError as failure:
        return [error("dns mx", str(failure), "set dns_resolver to a resolver's address")]
    try:
        records = await asyncio.to_thread(dns.records, domain, "MX")
    except TemporaryDnsError as failure:
        return [error("dns mx", f"the MX look-up of {domain} failed: {failure}",
                      "check that dns_resolver (or the system's resolver) answers")]
    where = settings.greeting_name
    if not records:
        return [error("dns mx", f"{domain} has no MX record",
                      f"publish `{domain}. IN MX 10 {where}.` (deploy/GUIDE.md)")]
    targets = sorted({r.exchange.to_text(omit_final_dot=True).lower() for r in records})
    if targets == [""]:
        return [error("dns mx", f"{domain} publishes a null MX (it takes no mail)",
                      f"replace it with `{domain}. IN MX 10 {where}.`")]
    found = []
    for target in targets:
        try:
            addresses = [*await asyncio.to_thread(dns.records, target, "A"),
                         *await asyncio.to_thread(dns.records, target, "AAAA")]
        except TemporaryDnsError as failure:
            return [error("dns mx", f"the address look-up of the MX {target} failed: {failure}",
                          "check that dns_resolver (or the system's resolver) answers")]
        if not addresses:
            return [error("dns mx", f"the MX of {domain} names {target}, which has no A or AAAA record",
                          f"publish an A (and AAAA) record for {target}")]
        found.append(f"{target} ({', '.join(sorted(a.address for a in addresses))})")
    if settings.hostname and settings.hostname.lower().rstrip(".") not in targets:
        return [warning("dns mx", f"the MX of {domain} is {', '.join(found)}, not hostname {settings.hostname}",
                        f"point the MX at {settings.hostname}, or set hostname to the name the MX gives")]
    return [ok("dns mx", f"{domain} MX {', '.join(found)}")]


async def outbound_spf(settings: Settings) -> list[Finding]:
    """Whether the SPF of the gateway's own sender domain lets the smarthost send for it."""
    if not settings.smarthost:
        return [ok("outbound spf", "no smarthost: the gateway sends no mail of its own")]
    sender = settings.sender_address
    domain = domain_of(sender)
    if is_local_name(domain):
        return [warning("outbound spf", f"the gateway sends as {sender}, a local name receivers refuse",
                        "set outbound_from (or mail_domain) to an address of a real domain")]
    try:
        host, _port = smarthost_address(settings)
    except OutboundError:
        return []      # the smarthost check says what is wrong with the setting
    try:
        dns = Dns.from_settings(settings)
    except ConfigError as failure:
        return [error("outbound spf", str(failure), "set dns_resolver to a resolver's address")]
    try:
        addresses = await asyncio.to_thread(_addresses, dns, host)
        spf = [t for t in await asyncio.to_thread(dns.txt, domain) if t.lower().startswith("v=spf1")]
    except TemporaryDnsError as failure:
        return [error("outbound spf", f"a look-up failed: {failure}",
                      "check that dns_resolver (or the system's resolver) answers")]
    if not addresses:
        return [error("outbound spf", f"the smarthost {host} has no address in DNS",
                      "set smarthost to a name with an A or AAAA record, or to an IP address")]
    if not spf:
        return [warning("outbound spf", f"{domain} publishes no SPF record: receivers may refuse or junk the "
                        f"gateway's mail", f"publish `{domain}. IN TXT \"v=spf1 ip4:{addresses[0]} -all\"` or "
                        f"your mail provider's include:")]
    results = [await asyncio.to_thread(check_spf, dns, address, sender, host) for address in addresses]
    worst = next((r for r in results if r.result != "pass"), results[0])
    said = f"SPF of {domain} for the smarthost {host} ({', '.join(addresses)}): {worst.result}"
    fix = (f"let the smarthost send for {domain}: add ip4:/ip6: of {', '.join(addresses)} or your provider's "
           f"include: to `{spf[0]}`")
    if worst.result == "pass":
        return [ok("outbound spf", said)]
    if not any(ipaddress.ip_address(address).is_global for address in addresses):
        return [warning("outbound spf", f"{said}; the smarthost is at a private address, so it relays on",
                        f"check that the SPF of {domain} allows the public address your mail leaves from")]
    if worst.result in ("fail", "permerror", "temperror"):
        return [error("outbound spf", f"{said} ({worst.detail})" if worst.detail else said, fix)]
    return [warning("outbound spf", said, fix)]


def _addresses(dns: Dns, host: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        return [r.address for rdtype in ("A", "AAAA") for r in dns.records(host, rdtype)]


async def smarthost(settings: Settings) -> list[Finding]:
    if not settings.smarthost:
        return [warning("smarthost", "none: outbound mail (address confirmations, sign-in codes, digests, mail "
                        "sent from a record) is off", "set smarthost = host[:port] (and smarthost_username, "
                        "smarthost_password when it needs a login)")]
    try:
        host, port = smarthost_address(settings)
    except OutboundError as failure:
        return [error("smarthost", str(failure), "write smarthost as host or host:port")]
    where = f"{host}:{port}"
    client = aiosmtplib.SMTP(hostname=host, port=port, timeout=TIMEOUT, use_tls=port == 465, start_tls=False)
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError) as failure:
        return [error("smarthost", f"cannot reach {where}: {failure}",
                      "check smarthost's name and port and that this machine may connect to it")]
    steps = ["connected"]
    try:
        await client.ehlo()
        if settings.smarthost_starttls and port != 465:
            if not client.supports_extension("starttls"):
                return [error("smarthost", f"{where} does not offer STARTTLS",
                              "use a smarthost that does (port 587), or set smarthost_starttls = false "
                              "only on a private network")]
            try:
                await client.starttls()
            except (aiosmtplib.SMTPException, OSError) as failure:
                return [error("smarthost", f"STARTTLS with {where} failed: {failure}",
                              "the smarthost's certificate must verify for its name (system CA store)")]
            steps.append("STARTTLS")
        if settings.smarthost_username:
            try:
                await client.login(settings.smarthost_username, settings.smarthost_password)
            except aiosmtplib.SMTPException as failure:
                return [error("smarthost", f"{where} refused the login of {settings.smarthost_username}: "
                              f"{getattr(failure, 'message', failure)}",
                              "check smarthost_username and smarthost_password")]
            steps.append(f"logged in as {settings.smarthost_username}")
        elif client.supports_extension("auth"):
            steps.append("no login (it offers AUTH: set smarthost_username if it needs one)")
    except (aiosmtplib.SMTPException, OSError) as failure:
        return [error("smarthost", f"{where} broke off: {failure}", "check the smarthost's logs")]
    finally:
        await _leave(client)
    return [ok("smarthost", f"{where}: {', '.join(steps)}")]


async def _leave(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except (aiosmtplib.SMTPException, OSError):
        pass
    finally:
        client.close()


async def ports(settings: Settings) -> list[Finding]:
    """Each address the gateway listens on is free, or already served by smartbcc itself."""
    wanted = [("smtp", host, settings.port) for host in listen_hosts(settings.host)]
    wanted += [("web", host, settings.web_port) for host in listen_hosts(settings.web_host)]
    if settings.metrics_port:
        wanted.append(("metrics", settings.metrics_host, settings.metrics_port))
    findings = []
    for kind, host, port in wanted:
        name = f"port {kind}"
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if port == 0:
            findings.append(ok(name, f"{where}: a free port is picked at start"))
            continue
        problem = await asyncio.to_thread(_bind, host, port)
        if problem is None:
            findings.append(ok(name, f"{where} is free"))
        elif problem.errno == errno.EADDRINUSE:
            if await asyncio.to_thread(_is_smartbcc, kind, host, port, settings.web_base_path):
                findings.append(ok(name, f"{where}: smartbcc answers there"))
            else:
                findings.append(error(name, f"{where} is in use by another program",
                                      f"stop what listens there (ss -ltnp 'sport = :{port}'), or choose "
                                      f"another port"))
        elif problem.errno in (errno.EACCES, errno.EPERM):
            findings.append(error(name, f"{where}: this user may not listen on port {port}",
                                  "give the process CAP_NET_BIND_SERVICE (deploy/smartbcc.service does)"))
        elif problem.errno == errno.EADDRNOTAVAIL:
            findings.append(error(name, f"{where}: {host} is not an address of this machine",
                                  "listen on one of its addresses, 0.0.0.0 or ::"))
        else:
            findings.append(error(name, f"{where}: {problem.strerror or problem}", "check the host setting"))
    return findings


def _bind(host: str, port: int) -> OSError | None:
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as failure:
        return OSError(errno.EADDRNOTAVAIL, str(failure))
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as asyncio and uvicorn do
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as failure:
                return failure
    return None


def _is_smartbcc(kind: str, host: str, port: int, base_path: str) -> bool:
    """Whether what answers on a busy port is smartbcc (a running gateway is no problem)."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        if kind == "smtp":
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT) as connection:
                return b"smartbcc ESMTP" in connection.recv(512)
        path, mark = {"web": (f"{base_path}/api/v1/openapi.json", "smartbcc"),
                      "metrics": ("/metrics", "smartbcc_")}[kind]
        client = http.client.HTTPConnection(host, port, timeout=PROBE_TIMEOUT)
        try:
            client.request("GET", path)
            return mark in client.getresponse().read(65536).decode("utf-8", "replace")
        finally:
            client.close()
    except (OSError, http.client.HTTPException):
        return False

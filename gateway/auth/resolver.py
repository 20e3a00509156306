"""DNS for the checks: one dnspython resolver (the system's, or ``dns_resolver``), with ``dns_timeout``.

Look-ups here are blocking; ``gateway.auth.checks`` runs them in worker threads. An answer that may
change on retry (timeout, SERVFAIL, no server answering) raises :class:`TemporaryDnsError`; a name
that does not exist, or has no record of the type, is an empty answer.
"""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

from gateway.config import ConfigError, Settings, dns_server


class TemporaryDnsError(Exception):
    """A look-up that might succeed on retry. Deliberately not a dkimpy or pyspf exception class, so it
    passes through both libraries' error handling to the caller."""


class Dns:
    def __init__(self, server: tuple[str, int] | None, timeout: float) -> None:
        if server is None:
            try:
                resolver = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                raise ConfigError("no system DNS resolver is configured (/etc/resolv.conf); "
                                  "set dns_resolver to the address of one") from None
        else:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [server[0]]
            resolver.port = server[1]
        resolver.timeout = timeout
        resolver.lifetime = timeout
        self.resolver = resolver
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> "Dns":
        return cls(dns_server(settings.dns_resolver), settings.dns_timeout)

    def records(self, name: str, rdtype: str) -> list:
        """The rdata of ``name``'s ``rdtype`` records (CNAMEs followed); [] when there are none."""
        try:
            answer = self.resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.name.EmptyLabel, dns.name.LabelTooLong, dns.name.NameTooLong):
            return []
        except dns.exception.Timeout as error:
            raise TemporaryDnsError(f"timeout looking up {name} {rdtype}: {error}") from None
        except dns.resolver.NoNameservers as error:
            raise TemporaryDnsError(f"no server answered {name} {rdtype} (SERVFAIL?): {error}") from None
        except dns.exception.DNSException as error:
            raise TemporaryDnsError(f"{name} {rdtype}: {error!r}") from None
        return list(answer.rrset) if answer.rrset is not None else []

    def txt(self, name: str) -> list[str]:
        """Each TXT record as one string (its character-strings joined)."""
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self.records(name, "TXT")]

    def dkim_key(self, name: bytes, timeout: float = 5) -> bytes | None:
        """dkimpy's ``dnsfunc``: the key record at ``selector._domainkey.domain.``, or None."""
        try:
            text = name.decode("ascii")
        except UnicodeDecodeError:
            return None
        for record in self.records(text, "TXT"):
            return b"".join(record.strings)
        return None

    def spf_lookup(self, name: str, qtype: str, strict: object = True, timeout: float = 20) -> list:
        """pyspf's ``DNSLookup``: ``[((name, qtype), value), ...]`` in the shapes pyspf expects;
        a temporary failure is pyspf's ``TempError`` (the SPF result ``temperror``)."""
        import spf

        try:
            records = self.records(name, qtype)
        except TemporaryDnsError as error:
            raise spf.TempError(f"DNS {error}") from None
        out = []
        for rdata in records:
            if qtype in ("A", "AAAA"):
                out.append(((name, qtype), rdata.address))
            elif qtype == "MX":
                out.append(((name, qtype), (rdata.preference, rdata.exchange)))
            elif qtype == "PTR":
                out.append(((name, qtype), rdata.target.to_text(True)))
            elif qtype in ("TXT", "SPF"):
                out.append(((name, qtype), rdata.strings))
        return out

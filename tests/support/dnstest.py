"""A small authoritative DNS server for the anti-spoofing tests, and DKIM/ARC signing helpers.

:class:`TestDns` answers UDP queries on a loopback port from a dict of records (dnspython builds and
parses the messages). A name can be made to time out (no answer at all) or to answer SERVFAIL.
Keys are generated in the test run (cryptography); messages are signed and sealed with dkimpy.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
from dataclasses import dataclass, field
from functools import cache

import dkim
from dkim.canonicalization import CanonicalizationPolicy
from dkim.crypto import parse_pem_private_key
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def _txt(value: str) -> str:
    """A TXT rdata in zone-file form, split into 255-byte character-strings."""
    chunks = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


@dataclass
class TestDns:
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    timeouts: set[str] = field(default_factory=set)      # names that never get an answer
    servfail: set[str] = field(default_factory=set)      # names answered with SERVFAIL
    queries: list[tuple[str, str]] = field(default_factory=list)

    __test__ = False    # not a pytest test class

    def add(self, name: str, rdtype: str, value: str) -> None:
        self.records.setdefault((name.lower().rstrip("."), rdtype.upper()), []).append(value)

    def txt(self, name: str, value: str) -> None:
        self.add(name, "TXT", value)

    def start(self) -> "TestDns":
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(5)
        self.sock.close()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            answer = self.answer(wire)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self.timeouts:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rdtype) in self.records:
            values = self.records[name, rdtype]
            texts = [_txt(v) for v in values] if rdtype == "TXT" else values
            response.answer.append(dns.rrset.from_text_list(question.name, 300, dns.rdataclass.IN,
                                                            question.rdtype, texts))
        elif not any(key[0] == name or key[0].endswith("." + name) for key in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()


@dataclass(frozen=True)
class Key:
    private_pem: bytes        # PKCS#1, as dkimpy signs with it
    record: str               # the TXT record to publish at <selector>._domainkey.<domain>


@cache
def key(name: str) -> Key:
    """A 1024-bit RSA key (dkimpy's minimum), one per name for the whole run."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return Key(pem, f"v=DKIM1; k=rsa; p={base64.b64encode(public).decode()}")


SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


def dkim_sign(message: bytes, domain: str, selector: str = "sel", key_name: str | None = None,
              length: bool = False) -> bytes:
    """The message with a DKIM-Signature of ``domain`` on top; ``length``: with ``l=`` (the body's length)."""
    signature = dkim.sign(message, selector.encode(), domain.encode(), key(key_name or domain).private_pem,
                          include_headers=SIGNED, canonicalize=(b"relaxed", b"relaxed"), length=length)
    return signature + message


def dkim_sign_without_from(message: bytes, domain: str, selector: str = "sel") -> bytes:
    """The message with a valid DKIM-Signature of ``domain`` whose ``h=`` leaves out From: made by hand
    from dkimpy's parts, as its ``sign`` refuses to (rightly)."""
    signer = dkim.DKIM(message)
    signer.hasher = hashlib.sha256
    canonical = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    headers = tuple(name for name in SIGNED if name != b"from")
    fields = [(b"v", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", domain.encode()),
              (b"s", selector.encode()), (b"h", b":".join(headers)),
              (b"bh", base64.b64encode(hashlib.sha256(canonical.canonicalize_body(signer.body)).digest())),
              (b"b", b"")]
    private = parse_pem_private_key(key(domain).private_pem)
    value = signer.gen_header(fields, headers, canonical, b"DKIM-Signature", private)
    return b"DKIM-Signature: " + value + message


def arc_seal(message: bytes, sealer: str, selector: str = "arc") -> bytes:
    """The message with an ARC set of ``sealer`` on top (it must carry the sealer's
    Authentication-Results, which the ARC-Authentication-Results copies)."""
    headers = dkim.arc_sign(message, selector.encode(), sealer.encode(), key(sealer).private_pem, sealer.encode(),
                            include_headers=SIGNED)
    assert headers, "dkimpy made no ARC set: no Authentication-Results of the sealer?"
    return b"".join(headers) + message


def publish_key(server: TestDns, domain: str, selector: str = "sel", key_name: str | None = None) -> None:
    server.txt(f"{selector}._domainkey.{domain}", key(key_name or domain).record)

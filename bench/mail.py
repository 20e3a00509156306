"""Realistic outgoing mail for the load: what a salesperson's client sends with the gateway in Bcc.

Each message is From one of the company's users, To and Cc one to five customers of whom (on average)
half are seeded contacts and the others new addresses, with a unique Message-ID; the gateway is only in
the envelope (RCPT TO), as a Bcc is. A 10 KB message is plain text; larger ones are multipart with a
short text part and a base64 attachment that brings them to the requested size. The body of each size
is built once and shared: only the header block is made per message.
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from email.utils import format_datetime, localtime

from bench.seed import COMPANY_DOMAIN, Population

SIZES = {"10k": 10_000, "1m": 1_000_000, "20m": 20_000_000}   # decimal: MB/s is reported in 10^6 bytes
PLAIN_UP_TO = 100_000          # larger messages carry an attachment
HEADER_ALLOWANCE = 700         # about what the header block takes; sizes land within a few hundred bytes
WORDS = ("proposal pricing delivery schedule contract renewal licence seats discount quarter invoice "
         "meeting agenda follow-up onboarding integration support timeline budget approval signature "
         "thanks regards attached revised terms volume order shipment warehouse forecast").split()


@dataclass(frozen=True)
class Outgoing:
    """One message as the client sends it: envelope, and the DATA payload as dot-stuffed chunks."""

    mail_from: str
    rcpt_to: str
    message_id: str
    chunks: tuple[bytes, ...]
    known: int                 # customers in To/Cc that are seeded contacts
    unknown: int               # customers the gateway has not seen (it creates contacts for them)

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)


def dot_stuff(data: bytes) -> bytes:
    data = data.replace(b"\r\n.", b"\r\n..")
    return b"." + data if data.startswith(b".") else data


def _text(rng: random.Random, size: int) -> bytes:
    lines: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(11)).capitalize() + "."
        lines.append(line)
        total += len(line) + 2
    return ("\r\n".join(lines) + "\r\n").encode()[:max(0, size)]


def _body(size: int, rng: random.Random) -> tuple[bytes, bytes]:
    """(the Content-* header lines, the body) for a message of about ``size`` bytes in all."""
    room = size - HEADER_ALLOWANCE
    if size <= PLAIN_UP_TO:
        text = _text(rng, room).rstrip(b"\r\n") + b"\r\n"
        return b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n", text
    boundary = "=_bench_boundary_0123456789"
    intro = _text(rng, 2000)
    head = (f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 7bit\r\n\r\n").encode() + intro + (
            f"\r\n--{boundary}\r\nContent-Type: application/pdf; name=\"offer.pdf\"\r\n"
            f"Content-Disposition: attachment; filename=\"offer.pdf\"\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    encoded_room = room - len(head) - len(tail)
    raw = rng.randbytes(max(0, encoded_room * 57 // 78))     # 57 raw bytes -> 76 characters + CRLF
    encoded = base64.encodebytes(raw).replace(b"\n", b"\r\n")
    content = f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n".encode()
    return content, head + encoded.rstrip(b"\r\n") + tail


class MessageFactory:
    """Makes the messages of one run; ``tag`` keeps Message-IDs unique across runs on one database."""

    def __init__(self, population: Population, rcpt_to: str, tag: str, seed: int = 11) -> None:
        self.population = population
        self.rcpt_to = rcpt_to
        self.tag = tag
        self.rng = random.Random(seed)
        self.sequence = 0
        self._bodies: dict[int, tuple[bytes, bytes]] = {}

    def fork(self, suffix: str) -> MessageFactory:
        """A factory for another process: the same population and recipient, Message-IDs of its own."""
        return MessageFactory(self.population, self.rcpt_to, self.tag + suffix, self.rng.randrange(1 << 30))

    def _customers(self) -> tuple[list[str], int]:
        addresses, known = [], 0
        for _ in range(self.rng.randint(1, 5)):
            if self.rng.random() < 0.5:
                index = self.rng.randrange(self.population.contacts)
                addresses.append(f"\"Contact {index}\" <{self.population.contact_email(index)}>")
                known += 1
            else:
                name = f"p{self.tag}x{self.sequence}x{len(addresses)}"
                addresses.append(f"\"Prospect {name}\" <{name}@prospect{self.rng.randrange(10**6)}.example>")
        return addresses, known

    def make(self, size: int) -> Outgoing:
        self.sequence += 1
        if size not in self._bodies:
            content, body = _body(size, random.Random(size))
            self._bodies[size] = content, dot_stuff(body)     # ends with CRLF, ready for ".\r\n"
        content, body = self._bodies[size]
        user = self.rng.randrange(self.population.users)
        sender = self.population.user_email(user)
        customers, known = self._customers()
        split = self.rng.randint(1, len(customers))
        message_id = f"<{self.tag}.{self.sequence}.{self.rng.getrandbits(48):x}@{COMPANY_DOMAIN}>"
        lines = [
            f"From: \"Sales Person {user}\" <{sender}>",
            f"To: {', '.join(customers[:split])}",
            *([f"Cc: {', '.join(customers[split:])}"] if customers[split:] else []),
            f"Subject: Re: Your order {self.sequence} - revised proposal",
            f"Date: {format_datetime(localtime())}",
            f"Message-ID: {message_id}",
            "MIME-Version: 1.0",
            "User-Agent: Mozilla/5.0 Thunderbird/128.3.0",
            "Content-Language: en-US",
        ]
        header = dot_stuff(("\r\n".join(lines) + "\r\n").encode()) + content + b"\r\n"
        return Outgoing(sender, self.rcpt_to, message_id, (header, body), known, len(customers) - known)

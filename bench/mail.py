"""Realistic outgoing mail for the load: what a salesperson's client sends with the gateway in Bcc.

Each message is From one of the company's users, To and Cc one to five customers of whom (on average)
half are seeded contacts and the others new addresses, with a unique Message-ID; the gateway is only in
the envelope (RCPT TO), as a Bcc is. Each size comes in five shapes (:data:`SHAPES`): a base64
attachment, long plain text in short lines, HTML with inline images, many small parts, and a forward
with the original attached as message/rfc822. Without a shape, a message up to 100 kB is plain text and
a larger one carries a base64 attachment. The body of each size and shape is built once and shared:
only the header block is made per message.
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


def _text(rng: random.Random, size: int, words: int = 11) -> bytes:
    lines: list[str] = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."
        lines.append(line)
        total += len(line) + 2
    return ("\r\n".join(lines) + "\r\n").encode()[:max(0, size)]


def _base64(rng: random.Random, room: int) -> bytes:
    """Random bytes, base64 in lines of 76 characters, about ``room`` bytes long (no final CRLF)."""
    raw = rng.randbytes(max(3, room * 57 // 78))     # 57 raw bytes -> 76 characters + CRLF
    return base64.encodebytes(raw).replace(b"\n", b"\r\n").rstrip(b"\r\n")


def _part(headers: str, body: bytes, boundary: str) -> bytes:
    return f"--{boundary}\r\n{headers}\r\n\r\n".encode() + body + b"\r\n"


def _multipart(subtype: str, boundary: str, parts: list[bytes]) -> tuple[bytes, bytes]:
    content = f"Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\r\n".encode()
    return content, b"".join(parts) + f"--{boundary}--\r\n".encode()


def _attachment(rng: random.Random, room: int) -> tuple[bytes, bytes]:
    """A short text and a base64 PDF that fills the rest: what a quote or a contract looks like."""
    boundary = "=_bench_attachment_0123456789"
    intro = _part("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit",
                  _text(rng, min(2000, room // 4)).rstrip(b"\r\n"), boundary)
    headers = ("Content-Type: application/pdf; name=\"offer.pdf\"\r\nContent-Disposition: attachment; "
               "filename=\"offer.pdf\"\r\nContent-Transfer-Encoding: base64")
    room -= len(intro) + len(headers) + 2 * len(boundary) + 20
    return _multipart("mixed", boundary, [intro, _part(headers, _base64(rng, room), boundary)])


def _plain(rng: random.Random, room: int) -> tuple[bytes, bytes]:
    """Long plain text in short lines (about 60 characters): a long thread quoted in full, a log."""
    return (b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n",
            _text(rng, room, words=8).rstrip(b"\r\n") + b"\r\n")


def _html(rng: random.Random, room: int) -> tuple[bytes, bytes]:
    """multipart/related: a text and an HTML alternative, and inline images (Content-ID) it shows;
    one image per 250 kB or so, the HTML about a tenth of the message."""
    outer, inner = "=_bench_related_0123456789", "=_bench_alternative_0123456789"
    images = max(1, round(room / 250_000))
    text_room = max(200, min(room // 10, 200_000))
    text = _text(rng, text_room // 3).rstrip(b"\r\n")
    paragraphs = _text(rng, text_room).rstrip(b"\r\n").split(b"\r\n")
    html = (b"<html><body>\r\n" + b"\r\n".join(b"<p>" + line + b"</p>" for line in paragraphs) + b"\r\n"
            + b"\r\n".join(f"<img src=\"cid:image{i}@bench.example\" alt=\"figure {i}\">".encode()
                           for i in range(images)) + b"\r\n</body></html>")
    _, alternative = _multipart("alternative", inner, [
        _part("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit", text, inner),
        _part("Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 7bit", html, inner)])
    first = _part(f"Content-Type: multipart/alternative; boundary=\"{inner}\"", alternative.rstrip(b"\r\n"), outer)
    each = max(100, (room - len(first)) // images - 200)
    parts = [first] + [_part(f"Content-Type: image/png; name=\"image{i}.png\"\r\nContent-ID: <image{i}@bench.example>"
                             f"\r\nContent-Disposition: inline; filename=\"image{i}.png\"\r\n"
                             "Content-Transfer-Encoding: base64", _base64(rng, each), outer) for i in range(images)]
    content, body = _multipart("related", outer, parts)
    return content.replace(b"\r\n", b"; type=\"multipart/alternative\"\r\n"), body


def _parts(rng: random.Random, room: int) -> tuple[bytes, bytes]:
    """Many small parts of about 8 kB each: text notes, CSV files and small base64 files, in turn."""
    boundary = "=_bench_parts_0123456789"
    kinds = (("text/plain; charset=utf-8", "note{}.txt", "7bit"), ("text/csv; charset=utf-8", "table{}.csv", "7bit"),
             ("application/octet-stream", "data{}.bin", "base64"))
    parts, used, i = [], 0, 0
    while used < room - 300:
        mime, name, encoding = kinds[i % len(kinds)]
        size = min(8000, room - used - 250)
        body = _base64(rng, size) if encoding == "base64" else _text(rng, size).rstrip(b"\r\n")
        parts.append(_part(f"Content-Type: {mime}; name=\"{name.format(i)}\"\r\nContent-Disposition: attachment; "
                           f"filename=\"{name.format(i)}\"\r\nContent-Transfer-Encoding: {encoding}", body, boundary))
        used += len(parts[-1])
        i += 1
    return _multipart("mixed", boundary, parts)


def _forward(rng: random.Random, room: int) -> tuple[bytes, bytes]:
    """A forward: a short note and the customer's original as an attached message/rfc822, which carries
    an attachment of its own."""
    boundary = "=_bench_forward_0123456789"
    note = _part("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit",
                 b"See the customer's message below.\r\n" + _text(rng, 300).rstrip(b"\r\n"), boundary)
    original_head = ("From: \"Customer Buyer\" <buyer@customer-forward.example>\r\n"
                     "To: \"Sales\" <sales@acme.example>\r\n"
                     "Subject: Our order and the signed contract\r\nDate: Mon, 06 Jan 2025 10:15:00 +0100\r\n"
                     "Message-ID: <original.forward@customer-forward.example>\r\nMIME-Version: 1.0\r\n")
    content, body = _attachment(rng, room - len(note) - len(original_head) - 300)
    original = original_head.encode() + content + b"\r\n" + body.rstrip(b"\r\n")
    attached = _part("Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"original.eml\"",
                     original, boundary)
    return _multipart("mixed", boundary, [note, attached])


SHAPES = {"attachment": _attachment, "text": _plain, "html": _html, "parts": _parts, "forward": _forward}
SHAPE_NAMES = {"attachment": "base64 attachment", "text": "long plain text, short lines",
               "html": "HTML with inline images", "parts": "many small parts", "forward": "forward, attached message"}


def _body(size: int, rng: random.Random, shape: str = "") -> tuple[bytes, bytes]:
    """(the Content-* header lines, the body) for a message of about ``size`` bytes in all. Without a
    shape: plain text up to 100 kB, a base64 attachment above."""
    room = size - HEADER_ALLOWANCE
    if not shape:
        shape = "text" if size <= PLAIN_UP_TO else "attachment"
    return SHAPES[shape](rng, room)


class MessageFactory:
    """Makes the messages of one run; ``tag`` keeps Message-IDs unique across runs on one database."""

    def __init__(self, population: Population, rcpt_to: str, tag: str, seed: int = 11) -> None:
        self.population = population
        self.rcpt_to = rcpt_to
        self.tag = tag
        self.rng = random.Random(seed)
        self.sequence = 0
        self._bodies: dict[tuple[int, str], tuple[bytes, bytes]] = {}

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

    def make(self, size: int, shape: str = "") -> Outgoing:
        self.sequence += 1
        if (size, shape) not in self._bodies:
            content, body = _body(size, random.Random(size), shape)
            self._bodies[size, shape] = content, dot_stuff(body)     # ends with CRLF, ready for ".\r\n"
        content, body = self._bodies[size, shape]
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

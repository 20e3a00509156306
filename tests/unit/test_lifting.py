"""Large messages parsed with their long base64 runs set aside (gateway.mail.lifting) give exactly what
the stdlib alone gives: every field of ParsedMessage, attachments' sizes and hashes included."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest

from gateway.mail import lifting
from gateway.mail.parsing import parse_message

DATA = Path(__file__).resolve().parent.parent / "data"


def b64(data: bytes, width: int = 76) -> bytes:
    text = base64.b64encode(data)
    return b"".join(text[i:i + width] + b"\r\n" for i in range(0, len(text), width))


def blob(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


HEAD = (b"From: Ada <ada@acme.example>\r\nTo: bob@customer.example\r\nSubject: Offer\r\n"
        b"Message-ID: <big@acme.example>\r\nDate: Mon, 30 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n")


def multipart(*parts: bytes, boundary: bytes = b"b1", kind: bytes = b"mixed", preamble: bytes = b"",
              epilogue: bytes = b"") -> bytes:
    body = preamble + b"".join(b"--" + boundary + b"\r\n" + part for part in parts)
    return (f"Content-Type: multipart/{kind.decode()}; boundary=\"{boundary.decode()}\"\r\n\r\n".encode()
            + body + b"--" + boundary + b"--\r\n" + epilogue)


def attachment(data: bytes, name: str = "offer.pdf", encoded: bytes | None = None) -> bytes:
    return (f"Content-Type: application/pdf; name=\"{name}\"\r\nContent-Disposition: attachment; "
            f"filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n").encode() + (encoded or b64(data))


TEXT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nHello Bob,\r\nthe offer is attached.\r\n"
BIG = blob(400_000)
LONG_TEXT = b"".join(b"Line %d: the quick brown fox; Gr\xc3\xbc\xc3\x9fe.\r\n%s" % (n, b"\r\n" if n % 7 == 0 else b"")
                     for n in range(8000))
SHORT_LINE = b64(BIG)[:76 * 2000] + b"QUI\r\n" + b64(BIG)[76 * 2000:]          # a short line splits the run

CASES = {
    "attachment": HEAD + multipart(TEXT, attachment(BIG)),
    "attachment, last line padded": HEAD + multipart(TEXT, attachment(blob(300_001, 2))),
    "two attachments and html": HEAD + multipart(
        multipart(TEXT, b"Content-Type: text/html\r\n\r\n<p>Hello</p>\r\n", boundary=b"alt", kind=b"alternative"),
        attachment(BIG), attachment(blob(500_000, 3), "b.bin")),
    "64-character lines": HEAD + multipart(TEXT, attachment(BIG, encoded=b64(BIG, 64))),
    "a short line in the middle": HEAD + multipart(TEXT, attachment(BIG, encoded=SHORT_LINE)),
    "a line of garbage after the run": HEAD + multipart(TEXT, attachment(BIG, encoded=b64(BIG) + b"*%$\r\n")),
    "a short first line": HEAD + multipart(TEXT, attachment(BIG, encoded=b"QUJDRA\r\n" + b64(BIG))),
    "unpadded tail": HEAD + multipart(TEXT, attachment(BIG, encoded=b64(blob(300_002, 4)).rstrip(b"=\r\n") + b"\r\n")),
    "base64 text body": HEAD + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + b64(("Grüße aus Berlin. " * 20_000).encode()),
    "quoted-printable body of base64-like lines": HEAD + multipart(
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + b64(BIG)),
    "no MIME at all": HEAD + b"\r\n" + b64(BIG),
    "runs in preamble and epilogue": HEAD + multipart(TEXT, attachment(blob(10)), preamble=b64(BIG),
                                                      epilogue=b64(blob(50_000, 5))),
    "an attached message with runs in its preamble and epilogue": HEAD + multipart(
        TEXT, b"Content-Type: message/rfc822\r\n\r\n" + HEAD.replace(b"<big@", b"<inner@")
        + multipart(TEXT, preamble=b64(BIG), epilogue=b64(blob(50_000, 5)), boundary=b"inner")),
    "an attached message with an attachment": HEAD + multipart(
        TEXT, b"Content-Type: message/rfc822\r\n\r\n" + HEAD.replace(b"<big@", b"<inner@")
        + multipart(TEXT, attachment(BIG), boundary=b"inner")),
    "bare LF line ends": (HEAD + multipart(TEXT, attachment(BIG))).replace(b"\r\n", b"\n"),
    "no blank line before the body": HEAD + multipart(TEXT, b"Content-Type: application/octet-stream\r\n"
                                                      b"Content-Transfer-Encoding: base64\r\n" + b64(BIG)),
    # runs of text: bodies, attached messages, signatures, parts that only look like text
    "a long text body": HEAD + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + LONG_TEXT,
    "a long text body, a signature, a quoted reply": HEAD + b"\r\n" + LONG_TEXT + b"-- \r\nAda\r\n\r\n" + LONG_TEXT
    + b"\r\n-----Original Message-----\r\nFrom: Bob <bob@customer.example>\r\nSubject: Re\r\n\r\n" + LONG_TEXT,
    "long text and html alternatives and an attachment": HEAD + multipart(multipart(
        b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + LONG_TEXT,
        b"Content-Type: text/html\r\n\r\n<p>" + LONG_TEXT + b"</p>\r\n", boundary=b"alt", kind=b"alternative"),
        attachment(BIG)),
    "a text attachment": HEAD + multipart(TEXT, b"Content-Type: text/csv\r\nContent-Disposition: attachment; "
                                          b"filename=\"a.csv\"\r\n\r\n" + LONG_TEXT),
    "an attached message with a long text body": HEAD + multipart(
        TEXT, b"Content-Type: message/rfc822\r\n\r\n" + HEAD.replace(b"<big@", b"<inner@") + b"\r\n" + LONG_TEXT),
    "an attached message that starts with text": HEAD + multipart(
        TEXT, b"Content-Type: message/rfc822\r\n\r\n" + LONG_TEXT),
    "long text in preamble and epilogue": HEAD + multipart(TEXT, preamble=b"\r\n" + LONG_TEXT,
                                                           epilogue=b"\r\n" + LONG_TEXT),
    "a delivery report": HEAD + multipart(
        TEXT, b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        + LONG_TEXT, attachment(BIG), kind=b"report"),     # its text stays: blank lines matter there
    "bare CRs in long text": HEAD + b"\r\n" + LONG_TEXT.replace(b"fox", b"fox\r--x", 3),
    "base64-encoded text with short lines": HEAD + b"Content-Type: text/plain\r\nContent-Transfer-Encoding: "
    b"base64\r\n\r\n" + b64(LONG_TEXT, 60),
}


@pytest.fixture
def unlifted(monkeypatch: pytest.MonkeyPatch):
    def parse(raw: bytes):
        with monkeypatch.context() as patch:
            patch.setattr(lifting, "MIN_MESSAGE", 1 << 62)
            return parse_message(raw, mail_domain="bcc.example.net")
    return parse


@pytest.mark.parametrize("name", CASES)
def test_the_same_as_the_stdlib_alone(name: str, unlifted) -> None:
    raw = CASES[name]
    assert lifting.lift(raw) is not None, "the case must have a run to lift"
    assert parse_message(raw, mail_domain="bcc.example.net") == unlifted(raw)


@pytest.mark.parametrize("name", ["attachment", "attachment, last line padded", "64-character lines",
                                  "unpadded tail", "base64 text body"])
def test_the_same_when_runs_are_decoded_in_many_small_pieces(name: str, unlifted,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifting, "PIECE", 1000)
    assert parse_message(CASES[name], mail_domain="bcc.example.net") == unlifted(CASES[name])


def test_the_attachment_is_decoded_from_the_run() -> None:
    raw = CASES["attachment"]
    parsed = parse_message(raw)
    [found] = parsed.attachments
    assert (found.filename, found.size) == ("offer.pdf", len(BIG))
    import hashlib
    assert found.sha256 == hashlib.sha256(BIG).hexdigest()


def test_the_parser_reads_the_short_form() -> None:
    raw = CASES["attachment"]
    lifted = lifting.lift(raw)
    assert lifted is not None and len(lifted.raw) < 2_000 and len(lifted.runs) == 1


@pytest.mark.parametrize("sample", sorted(DATA.glob("*.eml")), ids=lambda p: p.name)
def test_client_samples_padded_to_be_large_parse_the_same(sample: Path, unlifted) -> None:
    """Every client sample with a large attachment added (as the last part of a new outer multipart)."""
    raw = HEAD + multipart(b"Content-Type: message/rfc822\r\n\r\n" + sample.read_bytes(), attachment(BIG))
    assert parse_message(raw, mail_domain="bcc.example.net") == unlifted(raw)


def test_text_is_not_lifted_from_a_delivery_report() -> None:
    lifted = lifting.lift(CASES["a delivery report"])
    assert lifted is not None and len(lifted.runs) == 1 and LONG_TEXT[:100] in lifted.raw


def test_small_messages_are_not_lifted() -> None:
    assert lifting.lift(HEAD + multipart(TEXT, attachment(blob(100_000)))) is None


def test_runs_are_whole_lines_of_one_width_and_one_line_end() -> None:
    line = b"QUJD" * 19 + b"\r\n"
    raw = b"Subject: x\r\n\r\nHello\r\n" + line * 1000 + b"QUI=\r\nbye\r\n"
    start = raw.index(line)
    assert list(lifting._runs(raw)) == [(start, start + len(line) * 1000)]
    stray = raw.replace(line * 2, line + b"QUJD" * 9 + b"\rQUJD" * 9 + b"QUJ\r\n", 1)   # a bare CR in a line
    assert [end - begin for begin, end in lifting._runs(stray)] == [len(line) * 998]
    lf_only = raw.replace(b"\r\n", b"\n")
    assert [end - begin for begin, end in lifting._runs(lf_only)] == [(len(line) - 1) * 1000]

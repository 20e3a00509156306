"""Properties of the parser over generated hostile input (hypothesis): it never raises, its output is
always safe to store and route, and the content hash means "the same message" and nothing else."""

from __future__ import annotations

import re
from urllib.parse import quote

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from gateway.mail.fingerprint import content_hash_of
from gateway.mail.parsing import message_id_of, parse_message

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# pieces real attackers and broken clients put in header values
HEADER_PIECES = st.sampled_from([
    b"plain words", b"=?utf-8?b?w6k=?=", b"=?utf-8?q?caf=C3=A9?=", b"=?utf-8?b?!!!?=", b"=?bogus?q?x?=",
    b"=?utf-8?q?=FF=FE?=", b"\xff\xfe\xfa", b"\xc3\x28", b"caf\xe9", b"\x00", b"\t", b"<a@b.example>", b"\"q\\\"x\"",
    b"a@b.example, c@d.example", b"(comment (nested) )", b"<<>>", b"@@@", b";;", b"=?", b"?=", b"\x1b[31m",
    b"../../etc/passwd", b"C:\\evil.exe", b"x" * 300,
])
HEADER_NAMES = st.sampled_from([b"From", b"To", b"Cc", b"Subject", b"Message-ID", b"Date", b"Reply-To", b"Sender",
                                b"In-Reply-To", b"References", b"Content-Type", b"Content-Disposition",
                                b"Content-Transfer-Encoding", b"Auto-Submitted", b"List-Id", b"X-Whatever"])
TYPES = st.sampled_from([b"text/plain", b"text/html", b"application/octet-stream", b"message/rfc822",
                         b"multipart/mixed", b"multipart/alternative", b"image/png", b"text/plain; charset=bogus"])
ENCODINGS = st.sampled_from([b"7bit", b"8bit", b"base64", b"quoted-printable", b"x-uuencode", b"bogus"])
BODY = st.binary(max_size=300) | st.sampled_from([b"SGVsbG8=", b"!!!@@@", b"=ZZ=\r\n=", b"begin 644 x\r\n`\r\nend"])
FILENAMES = st.text(alphabet=st.sampled_from(list("ab./\\:é ?*\x00\x01=%\"'")), max_size=40)


def header(name: bytes, value: bytes) -> bytes:
    return name + b": " + value + b"\r\n"


@st.composite
def headers(draw) -> bytes:
    fields = draw(st.lists(st.tuples(HEADER_NAMES, st.lists(HEADER_PIECES, min_size=0, max_size=4)), max_size=12))
    return b"".join(header(name, b" ".join(pieces)) for name, pieces in fields)


@st.composite
def mime(draw, depth: int = 0) -> bytes:
    kind = draw(TYPES)
    head = draw(headers()) + header(b"Content-Type", kind + b'; boundary="b%d"' % depth)
    if draw(st.booleans()):
        name = draw(FILENAMES).encode()
        head += header(b"Content-Disposition", b'attachment; filename="' + name + b'"')
    head += header(b"Content-Transfer-Encoding", draw(ENCODINGS))
    if kind.startswith(b"multipart/") and depth < 4:
        parts = draw(st.lists(mime(depth + 1), max_size=3))
        body = b"".join(b"--b%d\r\n" % depth + part for part in parts) + b"--b%d--\r\n" % depth
        if draw(st.booleans()):
            body = body[: draw(st.integers(0, len(body)))]      # cut short: no closing boundary
    else:
        body = draw(BODY)
    return head + b"\r\n" + body + b"\r\n"


def assert_safe(parsed, raw: bytes) -> None:
    assert parsed.size == len(raw)
    assert re.fullmatch(r"[0-9a-f]{64}", parsed.content_hash)
    assert re.fullmatch(r"<[^<>\s]+>", parsed.message_id) and len(parsed.message_id) <= 502
    for text in (parsed.text_body, parsed.html_body):
        assert isinstance(text, str) and "\x00" not in text
    assert isinstance(parsed.subject, str)
    for box in (*parsed.from_, *parsed.to, *parsed.cc, *parsed.reply_to):
        assert "@" in box.email and box.email == box.email.strip()
    for attachment in parsed.attachments:
        name = attachment.filename
        assert name and name not in (".", "..") and len(name) <= 255
        assert "/" not in name and "\\" not in name and not re.search(r"[\x00-\x1f\x7f]", name)
        assert attachment.size >= 0 and re.fullmatch(r"[0-9a-f]{64}", attachment.sha256)


@FAST
@given(st.binary(max_size=3000))
def test_any_bytes_parse_without_raising(raw):
    assert_safe(parse_message(raw, mail_domain="bcc.example.net"), raw)


@FAST
@given(mime())
def test_hostile_mime_parses_safely(raw):
    parsed = parse_message(raw, mail_domain="bcc.example.net")
    assert_safe(parsed, raw)
    assert parse_message(raw, mail_domain="bcc.example.net") == parsed       # deterministic


@FAST
@given(mime(), st.lists(st.sampled_from([b"Received", b"Return-Path", b"Delivered-To", b"Authentication-Results",
                                         b"ARC-Seal", b"X-Original-To"]), min_size=1, max_size=5))
def test_trace_headers_and_line_ends_do_not_change_the_content_hash(raw, trace):
    hops = b"".join(header(name, b"from relay.example by mx.example; Mon, 6 Jan 2025 10:15:00 +0100")
                    for name in trace)
    assert content_hash_of(hops + raw) == content_hash_of(raw)
    if b"\r" not in raw.replace(b"\r\n", b""):      # a bare CR is content, not a line end
        assert content_hash_of(raw.replace(b"\r\n", b"\n")) == content_hash_of(raw)


@FAST
@given(mime(), st.binary(min_size=1, max_size=50))
def test_a_different_body_is_a_different_message(raw, extra):
    changed = raw + extra
    assume(changed.replace(b"\r\n", b"\n") != raw.replace(b"\r\n", b"\n"))
    assert content_hash_of(changed) != content_hash_of(raw)


@FAST
@given(st.text(max_size=200))
def test_message_ids_are_bracketed_printable_or_empty(value):
    found = message_id_of(value)
    assert found == "" or (re.fullmatch(r"<[^<>\s\x00-\x1f\x7f]+>", found) and len(found) <= 502)


@FAST
@given(st.lists(FILENAMES, min_size=1, max_size=5))
def test_attachment_names_never_carry_a_path(names):
    parts = b"".join(b"--x\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
                     b"filename*=utf-8''" + quote(name, safe="").encode() + b"\r\n\r\nAAAA\r\n" for name in names)
    raw = b'From: a@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n' + parts + \
        b"--x--\r\n"
    parsed = parse_message(raw)
    assert_safe(parsed, raw)
    assert len(parsed.attachments) == len(names)

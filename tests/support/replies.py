"""``assert_reply``: one SMTP reply checked against what the test expects, written as the server writes it."""

from __future__ import annotations

import smtplib


def assert_reply(reply: tuple[int, str | bytes] | smtplib.SMTPResponseException, expected: str) -> str:
    """Assert that ``reply`` is ``expected``, given as the reply line starts: "250", "550 5.7.1" or
    "550 5.7.1 Sender not authorized". Words are compared whole ("550 5.7.1" is not "550 5.7.10").

    ``reply`` is (code, text) as tests.support.rawsmtp.Raw and smtplib return it, or the exception
    smtplib raised; a multi-line reply counts by its last line (Raw keeps that one). Returns the text."""
    if isinstance(reply, smtplib.SMTPResponseException):
        code, text = reply.smtp_code, reply.smtp_error
    else:
        code, text = reply
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    text = text.splitlines()[-1] if text else ""
    actual = f"{code} {text}".rstrip()
    assert actual == expected or actual.startswith(expected + " "), f"expected {expected!r}, got {actual!r}"
    return text

"""The transaction log line's format, and the names replies get in logs and metrics."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given, strategies as st

from gateway.handlers.journal import logfmt, outcome_of, path_of
from gateway.replies import reason_of


@pytest.mark.parametrize("value, written", [
    ("ada@acme.example", "ada@acme.example"),
    ("", '""'),
    ("two words", '"two words"'),
    ('say "hi"', '"say \\"hi\\""'),
    ("a=b", '"a=b"'),
    ("line\nbreak", '"line\\nbreak"'),
    ("nul\x00", '"nul\\x00"'),
    (True, "yes"),
    (12.5, "12.5"),
])
def test_values_are_written_plain_or_quoted(value, written):
    assert logfmt([("k", value)]) == f"k={written}"


def test_none_values_are_left_out_and_long_ones_cut():
    assert logfmt([("a", None), ("b", 1)]) == "b=1"
    assert logfmt([("a", "x" * 500)]) == "a=" + "x" * 300 + "..."


@given(st.dictionaries(st.from_regex(r"[a-z_]{1,10}", fullmatch=True),
                       st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)))
def test_a_line_parses_back_into_its_fields(fields):
    parsed = dict(field.split("=", 1) for field in shlex.split(logfmt(fields.items())))
    assert parsed == {key: value[:300] + ("..." if len(value) > 300 else "") for key, value in fields.items()}


@pytest.mark.parametrize("status, outcome", [
    ("250 2.0.0 Message accepted as 3", "accepted"), ("451 4.3.0 Temporary failure", "deferred"),
    ("550 5.7.1 Sender not authorized", "refused"), (None, "abandoned"), ("", "abandoned"),
])
def test_outcome_of_the_final_reply(status, outcome):
    assert outcome_of(status) == outcome


@pytest.mark.parametrize("argument, path", [
    ("FROM:<ada@acme.example> SIZE=100", "ada@acme.example"), ("TO:<>", ""), ("FROM: bare@x.example", "bare@x.example"),
])
def test_path_of_a_mail_or_rcpt_argument(argument, path):
    assert path_of(argument) == path


@pytest.mark.parametrize("status, reason", [
    ("550 5.1.1 No such mailbox here", "unknown_mailbox"),
    ("452 4.5.3 Too many recipients", "too_many_recipients"),
    ("452 4.5.3 Send to this recipient in a separate transaction", "other_company"),
    ("550 5.7.1 Sender not authorized for this address", "sender_not_authorized"),
    ("550 5.7.1 Relaying denied", "relay_denied"),
    ("451 4.3.0 Temporary failure, please try again later", "temporary_failure"),
    ("552 5.3.4 Message size exceeds fixed limit", "message_too_big"),
    ("500 5.5.2 Line too long (see RFC5321 4.5.3.1.6)", "line_too_long"),
    ("530 5.7.0 Must issue a STARTTLS command first", "tls_required"),
    ("501 5.5.4 Syntax: MAIL FROM: <address>", "protocol"),
])
def test_reasons_name_the_reply(status, reason):
    assert reason_of(status) == reason

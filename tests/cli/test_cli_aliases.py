"""`smartbcc alias`: alternate sender addresses, pending until proven, and the admin override."""

from __future__ import annotations

import json
import re
import socket

import pytest

def added_but_unsent(smartbcc, *args: str) -> tuple[str, str]:
    """`alias add` whose confirmation could not go out: the alias is added, the command fails (exit 1)."""
    result = smartbcc("alias", "add", *args)
    assert result.exit_code == 1, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit) and result.stderr.startswith("Error: ")
    return result.stdout, " ".join(result.stderr.split())


def test_add_is_pending_and_says_how_to_verify(seeded, smartbcc):
    out, err = added_but_unsent(smartbcc, "ada@acme.example", "Ada.Phone@Mobile.example", "--json")
    alias = json.loads(out)
    assert alias["email"] == "ada.phone@mobile.example" and alias["status"] == "pending"
    assert alias["user"] == "ada@acme.example" and alias["company"] == "acme" and isinstance(alias["id"], int)
    assert alias["verified_at"] is None and "no smarthost" in alias["confirmation"]
    assert "SMARTBCC_SMARTHOST" in err and "alias resend ada.phone@mobile.example" in err
    out, err = added_but_unsent(smartbcc, "ada@acme.example", "ada@home.example")
    assert "pending" in out and "alias verify --force ada@home.example" in out
    assert "alias resend ada@home.example" in out
    assert smartbcc.json("alias", "add", "ada@acme.example", "ada@work.example", "--no-mail")["status"] == "pending"


def test_list_filters_and_statuses(seeded, smartbcc):
    smartbcc.ok("user", "add", "gus@globex.example", "--company", "globex")
    smartbcc.ok("alias", "add", "ada@acme.example", "ada@home.example", "--no-mail")
    smartbcc.ok("alias", "add", "gus@globex.example", "gus@home.example", "--no-mail")
    smartbcc.ok("alias", "verify", "--force", "gus@home.example")
    listed = smartbcc.json("alias", "list")
    assert [(a["email"], a["status"]) for a in listed] == [
        ("ada@home.example", "pending"), ("gus@home.example", "verified")]
    assert [a["email"] for a in smartbcc.json("alias", "list", "--company", "globex")] == ["gus@home.example"]
    mine = smartbcc.json("alias", "list", "--user", "ada@acme.example")
    assert [a["email"] for a in mine] == ["ada@home.example"]
    text = smartbcc.ok("alias", "list")
    assert "STATUS" in text and "verified" in text and "pending" in text


def test_verify_needs_force_or_a_code_then_revoke(seeded, smartbcc):
    smartbcc.ok("alias", "add", "ada@acme.example", "ada@home.example", "--no-mail")
    error = smartbcc.fails("alias", "verify", "ada@home.example", code=2)
    assert "verifying by code comes with the confirmation mail" in error
    assert "alias verify --force ada@home.example" in error
    assert smartbcc.json("alias", "list")[0]["status"] == "pending"
    assert "no pending alternate address has that code" in smartbcc.fails("alias", "verify", "1234-5678")
    verified = smartbcc.json("alias", "verify", "--force", "ada@home.example")
    assert verified["status"] == "verified" and verified["verified_at"]
    assert smartbcc.json("alias", "verify", "--force", "ada@home.example")["status"] == "verified"
    # revoked, then added again
    revoked = smartbcc.json("alias", "revoke", "ada@home.example")
    assert revoked["status"] == "revoked" and revoked["revoked_at"]
    assert "add it again" in smartbcc.fails("alias", "verify", "--force", "ada@home.example")
    again = smartbcc.json("alias", "add", "ada@acme.example", "ada@home.example", "--no-mail")
    assert again["id"] == revoked["id"] and again["status"] == "pending"
    assert again["verified_at"] is None and again["revoked_at"] is None
    assert "revoked, now revoked" in smartbcc.ok("alias", "revoke", "ada@home.example")


def test_alias_errors(seeded, smartbcc):
    smartbcc.ok("user", "add", "gus@globex.example", "--company", "globex")
    smartbcc.ok("alias", "add", "ada@acme.example", "ada@home.example", "--no-mail")
    smartbcc.ok("alias", "add", "gus@globex.example", "ada@home.example", "--no-mail")   # another company: its own
    for args, message in [
        (("alias", "add", "ada@acme.example", "ada@home.example"),
         "ada@home.example is already an alternate address of ada@acme.example (pending)"),
        (("alias", "add", "ada@acme.example", "gus@globex.example"), "is the login address of a user"),
        (("alias", "add", "nobody@acme.example", "x@home.example"), "no user with address 'nobody@acme.example'"),
        (("alias", "add", "ada@acme.example", "not an address"), "is not a valid address"),
        (("alias", "revoke", "ada@home.example"), "in several companies (acme, globex): say which with --company"),
        (("alias", "revoke", "nobody@home.example"), "no alternate address nobody@home.example"),
        (("alias", "revoke", "ada@home.example", "--company", "nope"), "no company with slug 'nope'"),
        (("alias", "list", "--user", "nobody@acme.example"), "no user with address"),
        (("alias", "resend", "ada@home.example", "--company", "acme"), "no smarthost is configured"),
    ]:
        assert message in smartbcc.fails(*args), args
    revoked = smartbcc.json("alias", "revoke", "ada@home.example", "--company", "globex")
    assert revoked["company"] == "globex" and revoked["status"] == "revoked"


def test_add_mails_a_code_that_verifies(seeded, smartbcc, smarthost, monkeypatch):
    monkeypatch.setenv("SMARTBCC_SMARTHOST", smarthost.address)
    monkeypatch.setenv("SMARTBCC_SMARTHOST_STARTTLS", "false")
    alias = smartbcc.json("alias", "add", "ada@acme.example", "ada@home.example")
    assert alias["status"] == "pending" and alias["confirmation"].startswith("sent to ada@home.example")
    assert alias["code_expires_at"]
    [mail] = smarthost.messages
    assert mail["To"] == "ada@home.example"
    first = re.search(r"\b(\d{4}-\d{4})\b", mail.get_content()).group(1)
    assert "confirmation sent" in smartbcc.ok("alias", "resend", "ada@home.example")
    code = re.search(r"\b(\d{4}-\d{4})\b", smarthost.messages[-1].get_content()).group(1)   # the resent one
    if code != first:
        assert "no pending alternate address has that code" in smartbcc.fails("alias", "verify", first)
    verified = smartbcc.json("alias", "verify", code)
    assert verified["email"] == "ada@home.example" and verified["status"] == "verified"
    assert "no pending alternate address has that code" in smartbcc.fails("alias", "verify", code)


def test_unreachable_smarthost_keeps_the_alias_pending(seeded, smartbcc, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("SMARTBCC_SMARTHOST", f"127.0.0.1:{port}")
    out, err = added_but_unsent(smartbcc, "ada@acme.example", "ada@home.example", "--json")
    alias = json.loads(out)
    assert alias["status"] == "pending" and "cannot reach smarthost" in alias["confirmation"]
    assert "cannot reach smarthost" in err
    assert "cannot reach smarthost" in smartbcc.fails("alias", "resend", "ada@home.example")
    assert "not sent (--no-mail)" in smartbcc.json(
        "alias", "add", "ada@acme.example", "ada@work.example", "--no-mail")["confirmation"]

"""Who may send: the authorization table of SPEC 'Who may send'."""

import pytest

from gateway.auth.senders import SenderIdentity, authorize

IDS = {
    "ada@acme.example": SenderIdentity("ada@acme.example", 1, "login", "active"),
    "old@acme.example": SenderIdentity("old@acme.example", 2, "login", "inactive", user_active=False),
    "ada@home.example": SenderIdentity("ada@home.example", 1, "alternate", "verified"),
    "pend@home.example": SenderIdentity("pend@home.example", 1, "alternate", "pending"),
    "exp@home.example": SenderIdentity("exp@home.example", 1, "alternate", "expired"),
    "rev@home.example": SenderIdentity("rev@home.example", 1, "alternate", "revoked"),
    "oldalt@home.example": SenderIdentity("oldalt@home.example", 2, "alternate", "verified", user_active=False),
}


@pytest.mark.parametrize("envelope, header, ok, user, matched", [
    ("ada@acme.example", [], True, 1, "envelope-sender"),
    ("", ["ada@acme.example"], True, 1, "header-from"),
    ("x@y.example", ["ada@acme.example"], True, 1, "header-from"),
    ("ada@acme.example", ["x@y.example"], True, 1, "envelope-sender"),
    ("ada@home.example", [], True, 1, "envelope-sender"),
    ("", ["ada@home.example"], True, 1, "header-from"),
    ("pend@home.example", ["pend@home.example"], False, None, ""),
    ("exp@home.example", [], False, None, ""),
    ("rev@home.example", [], False, None, ""),
    ("old@acme.example", ["old@acme.example"], False, None, ""),
    ("oldalt@home.example", [], False, None, ""),
    ("x@y.example", ["z@y.example"], False, None, ""),
    ("", [], False, None, ""),
])
def test_authorize(envelope, header, ok, user, matched):
    decision = authorize(envelope, header, IDS)
    assert (decision.authorized, decision.user_id, decision.matched) == (ok, user, matched)
    assert decision.reason


def test_author_wins_over_envelope():
    ids = {**IDS, "bea@acme.example": SenderIdentity("bea@acme.example", 3, "login", "active")}
    decision = authorize("ada@acme.example", ["bea@acme.example"], ids)
    assert decision.user_id == 3


def test_refusal_reason_names_each_address():
    decision = authorize("rev@home.example", ["stranger@x.example"], IDS)
    assert "revoked" in decision.reason and "stranger@x.example" in decision.reason

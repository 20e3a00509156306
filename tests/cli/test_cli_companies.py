"""`smartbcc company` and `smartbcc user`: what an admin types first."""

from __future__ import annotations


def test_company_add_derives_slug_and_address(smartbcc):
    assert "company add" in smartbcc.ok("company", "list")     # empty: says what to do
    assert smartbcc.json("company", "list") == []
    company = smartbcc.json("company", "add", "Acme Corp", "--domain", "Acme.EXAMPLE.")
    assert company["slug"] == "acme" and company["domain"] == "acme.example"
    assert company["address"] == "acme@bcc.example.net" and company["name"] == "Acme Corp"
    assert isinstance(company["id"], int)
    out = smartbcc.ok("company", "add", "Acme UK", "--domain", "www.acme.co.uk")
    assert "slug acme-2" in out and "acme-2@bcc.example.net" in out


def test_company_list_and_show(seeded, smartbcc):
    listed = smartbcc.json("company", "list")
    assert [(c["slug"], c["address"]) for c in listed] == [
        ("acme", "acme@bcc.example.net"), ("globex", "globex@bcc.example.net")]
    assert {"id", "name", "domain", "crm_mode", "created_at"} <= set(listed[0])
    text = smartbcc.ok("company", "list")
    assert "acme@bcc.example.net" in text and "SLUG" in text
    shown = smartbcc.json("company", "show", "acme")
    assert shown["id"] == seeded.acme["id"] and shown["address"] == "acme@bcc.example.net"
    assert shown["counts"] == {"users": 1, "alternates": 0, "contacts": 1, "organizations": 1, "leads": 0,
                               "deals": 1, "projects": 0, "messages": 0}
    text = smartbcc.ok("company", "show", "ACME")
    assert "deals:" in text and "messages:" in text


def test_company_errors(seeded, smartbcc):
    assert "another company" not in smartbcc.fails("company", "show", "acmee")
    assert smartbcc.fails("company", "show", "acmee") == \
        "Error: no company with slug 'acmee' (see `smartbcc company list`)"
    error = smartbcc.fails("company", "add", "Acme again", "--domain", "ACME.example")
    assert "company 'acme' already has the domain acme.example" in error
    assert "domain name like example.com" in smartbcc.fails("company", "add", "X", "--domain", "localhost")
    assert "needs a name" in smartbcc.fails("company", "add", " ", "--domain", "x.example")
    assert "Missing option '--domain'" in smartbcc.fails("company", "add", "X", code=2)


def test_user_add_list_and_filter(seeded, smartbcc):
    assert seeded.ada["email"] == "ada@acme.example" and seeded.ada["company"] == "acme"
    assert seeded.ada["active"] is True and isinstance(seeded.ada["id"], int)
    gus = smartbcc.json("user", "add", "Gus@GLOBEX.example", "--company", "globex")
    assert gus["email"] == "gus@globex.example" and gus["name"] == ""
    assert [u["email"] for u in smartbcc.json("user", "list")] == ["ada@acme.example", "gus@globex.example"]
    assert [u["email"] for u in smartbcc.json("user", "list", "--company", "globex")] == ["gus@globex.example"]
    assert "gus@globex.example" in smartbcc.ok("user", "list")
    assert smartbcc.json("user", "deactivate", "ADA@acme.example")["active"] is False
    assert smartbcc.json("user", "list")[0]["active"] is False
    assert "now active" in smartbcc.ok("user", "activate", "ada@acme.example")
    assert smartbcc.json("user", "list")[0]["active"] is True


USER_ERRORS = [
    (("user", "add", "ada@acme.example", "--company", "globex"),
     "ada@acme.example is already a user of company 'acme'"),
    (("user", "add", "carl@acme.example", "--company", "acmee"), "no company with slug 'acmee'"),
    (("user", "add", "carl@@acme.example", "--company", "acme"), "'carl@@acme.example' is not a valid address"),
    (("user", "add", "carl", "--company", "acme"), "'carl' is not a valid address"),
    (("user", "list", "--company", "nope"), "no company with slug 'nope'"),
    (("user", "deactivate", "nobody@acme.example"), "no user with address 'nobody@acme.example'"),
    (("user", "activate", "not-an-address"), "is not an address of the form name@domain"),
]


def test_user_errors(seeded, smartbcc):
    for args, message in USER_ERRORS:
        assert message in smartbcc.fails(*args), args


def test_user_cannot_take_an_alternate_address(seeded, smartbcc):
    smartbcc.ok("alias", "add", "ada@acme.example", "ada.phone@mobile.example", "--no-mail")
    error = smartbcc.fails("user", "add", "ada.phone@mobile.example", "--company", "globex")
    assert "alternate address of ada@acme.example" in error and "alias revoke" in error
    smartbcc.ok("alias", "revoke", "ada.phone@mobile.example")
    assert smartbcc.json("user", "add", "ada.phone@mobile.example", "--company", "globex")["company"] == "globex"


def test_user_set_role(seeded, smartbcc):
    assert seeded.ada["role"] == "member"
    assert smartbcc.json("user", "set-role", "ADA@acme.example", "admin")["role"] == "admin"
    assert "ada@acme.example is now an admin of acme" in smartbcc.ok("user", "set-role", "ada@acme.example", "admin")
    assert "admin" in smartbcc.ok("user", "list")
    assert smartbcc.json("user", "list")[0]["role"] == "admin"
    assert "now a member" in smartbcc.ok("user", "set-role", "ada@acme.example", "member")
    assert "'owner' is not one of" in smartbcc.fails("user", "set-role", "ada@acme.example", "owner", code=2)
    assert "no user with address" in smartbcc.fails("user", "set-role", "nobody@acme.example", "admin")

"""`smartbcc import KIND FILE` and `smartbcc export KIND`: other CRMs' exports read as they are (the files in
tests/data/imports are shaped like Pipedrive's, HubSpot's and Bitrix24's), merged by address, refused with a
reason, and written back in the same shapes."""

from __future__ import annotations

import csv
import io
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from gateway.store.engine import sqlite_file

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


def exported(smartbcc, kind: str, company: str = "acme", fmt: str = "smartbcc") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(smartbcc.ok("export", kind, "--company", company, "--format", fmt))))


def test_pipedrive_people_dry_run_merge_refuse_report(seeded, smartbcc, tmp_path):
    people = str(DATA / "pipedrive_people.csv")
    database = sqlite_file(smartbcc.settings)
    if database is None:
        dry = smartbcc.json("import", "person", people, "--company", "acme", "--dry-run")
    else:   # a dry run takes no write lock: mail filed meanwhile (holding it here) does not wait for it
        with closing(sqlite3.connect(database, isolation_level=None)) as mail:
            mail.execute("BEGIN IMMEDIATE")
            dry = smartbcc.json("import", "person", people, "--company", "acme", "--dry-run")
            mail.execute("ROLLBACK")
    assert (dry["dry_run"], dry["source"], dry["created"], dry["merged"], dry["refused"]) == (
        True, "pipedrive", 3, 2, 3)
    assert [p["email"] for p in smartbcc.json("person", "list", "--company", "acme")] == ["bob@customer.example"]
    assert smartbcc.json("org", "list", "--company", "acme")[0]["name"] == "Customer Inc"   # none made

    text = smartbcc.ok("import", "contact", people, "--company", "acme", "--report", str(tmp_path / "r.csv"))
    assert "created: 3" in text and "merged:  2" in text and "refused: 3" in text
    assert "organizations created for the organization column: 1" in text      # Analytical Engines
    assert "Person - Label" in text                                             # said, not silently dropped
    assert "line 4: 'charles@' is not a valid address" in text
    assert "line 5: no name and no email address" in text
    assert "line 7: unknown owner 'Zed Unknown'" in text
    assert "(Mallory\\x1b]0;pwned\\x07)" in text and "\x1b" not in text and "\x07" not in text   # escaped
    rows = list(csv.DictReader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8"))))
    assert [(r["line"], r["action"]) for r in rows] == [
        ("2", "created"), ("3", "merged"), ("4", "refused"), ("5", "refused"), ("6", "merged"), ("7", "refused"),
        ("8", "created"), ("9", "created")]
    assert rows[1]["id"] == str(seeded.person["id"])                           # BOB@ is Bob: merged, not doubled
    assert rows[-1]["label"].startswith("'=HYPERLINK(")                        # the report opens in spreadsheets too

    people_now = {p["Email"]: p for p in exported(smartbcc, "person")}
    assert set(people_now) == {"bob@customer.example", "ada@engines.example", "evil@evil.example",
                               "formula@evil.example"}
    ada = people_now["ada@engines.example"]
    assert (ada["Name"], ada["Other emails"], ada["Organization"], ada["Owner"], ada["Phone"]) == (
        "Ada Lovelace", "ada.home@mail.example", "Analytical Engines", "ada@acme.example",  # owner by name "Ada"
        "'+44 20 7946 0000; +44 7700 900000")                                 # not a formula
    bob = people_now["bob@customer.example"]
    assert (bob["Name"], bob["Other emails"], bob["Organization"]) == (
        "Bob", "bob.private@mail.example", "Customer Inc")
    evil = people_now["evil@evil.example"]
    assert (evil["Name"], evil["Phone"]) == ("Evil\x1b[31mRed", "\x1b[2J+1 555 0199")  # kept exactly
    evil_id = next(p["id"] for p in smartbcc.json("person", "list", "--company", "acme") if p["name"] == evil["Name"])
    shown = smartbcc.ok("person", "show", str(evil_id))                         # ... and escaped on screens
    assert "phone:" in shown and "\\x1b[2J+1 555 0199" in shown and "\x1b" not in shown
    assert smartbcc.json("person", "show", str(evil_id))["phone"] == "\x1b[2J+1 555 0199"
    assert people_now["formula@evil.example"]["Name"] == '\'=HYPERLINK("http://evil.example")'   # not a formula

    again = smartbcc.json("import", "person", people, "--company", "acme")      # the same file twice: all merge
    assert (again["created"], again["merged"], again["organizations_created"]) == (0, 5, 0)


def test_hubspot_utf16_bitrix24_cp1251_and_a_mapping_file(seeded, smartbcc):
    hubspot = smartbcc.json("import", "person", str(DATA / "hubspot_contacts_utf16.csv"), "--company", "acme")
    assert (hubspot["source"], hubspot["encoding"], hubspot["delimiter"]) == ("hubspot", "utf-16", "tab")
    assert (hubspot["created"], hubspot["merged"], hubspot["refused"]) == (2, 1, 0)   # row 503: Grace's 2nd address
    bitrix = smartbcc.json("import", "person", str(DATA / "bitrix24_contacts_cp1251.csv"), "--company", "acme")
    assert (bitrix["source"], bitrix["encoding"], bitrix["delimiter"]) == ("bitrix24", "cp1251", "semicolon")
    assert (bitrix["created"], bitrix["refused"]) == (2, 1)
    assert bitrix["refusals"][0]["line"] == 4 and "no email address" in bitrix["refusals"][0]["note"]
    mapped = smartbcc.json("import", "person", str(DATA / "custom_contacts.csv"), "--company", "acme",
                           "--from", str(DATA / "custom_contacts.toml"))
    assert (mapped["encoding"], mapped["created"], mapped["organizations_created"]) == ("cp1252", 2, 1)

    people = {p["Email"]: p for p in exported(smartbcc, "person")}
    grace = people["grace@navy.example"]
    assert (grace["Name"], grace["Other emails"], grace["Organization"], grace["Owner"]) == (
        "Grace Hopper", "g.hopper@navy.example;grace@cobol.example", "US Navy", "ada@acme.example")
    assert people["rene@müller.example"]["Name"] == "René Müller"
    assert (people["ivan@romashka.example"]["Name"], people["ivan@romashka.example"]["Organization"]) == (
        "Иван Петрович Сидоров", 'ООО "Ромашка"')
    assert people["maria@romashka.example"]["Organization"] == 'ООО "Ромашка"'    # one organization for both
    assert people["juergen@firma.example"]["Other emails"] == "j.schmidt@firma.example"
    assert sum(1 for o in exported(smartbcc, "org") if o["Name"] == 'ООО "Ромашка"') == 1


def test_organizations_and_deals(seeded, smartbcc):
    orgs = smartbcc.json("import", "org", str(DATA / "hubspot_companies.csv"), "--company", "acme")
    assert (orgs["created"], orgs["merged"], orgs["refused"]) == (1, 1, 1)      # Customer Inc merged by domain
    assert {(o["Name"], o["Domain"]) for o in exported(smartbcc, "org")} == {
        ("Customer Inc", "customer.example"), ("US Navy", "navy.example")}
    dry = smartbcc.json("import", "deal", str(DATA / "pipedrive_deals.csv"), "--company", "acme", "--dry-run")
    deals = smartbcc.json("import", "deal", str(DATA / "pipedrive_deals.csv"), "--company", "acme")
    assert (deals["created"], deals["merged"], deals["refused"], deals["contacts_created"]) == (2, 1, 1, 1)
    assert {**dry, "dry_run": False, "notes": [], "refusals": []} == {**deals, "notes": [], "refusals": []}
    assert deals["refusals"][0]["note"] == "value 'a lot' is not a number"
    assert "'Nobody Known' not linked" in deals["notes"][0]["note"]
    got = {d["Title"]: d for d in exported(smartbcc, "deal")}
    assert set(got) == {"Big order", "Rollout", "Support contract"}
    assert (got["Big order"]["Contact email"], got["Big order"]["Owner"]) == (
        "bob@customer.example", "ada@acme.example")
    assert (got["Rollout"]["Status"], got["Rollout"]["Pipeline"], got["Rollout"]["Contact"],
            got["Rollout"]["Organization"]) == ("won", "Enterprise", "Grace Hopper", "US Navy")   # no second US Navy
    assert (got["Support contract"]["Status"], got["Support contract"]["Organization"]) == ("lost", "Customer Inc")
    assert [(got[t]["Value"], got[t]["Currency"]) for t in ("Big order", "Rollout", "Support contract")] == [
        ("1200.00", "EUR"), ("12500.50", "EUR"), ("", "EUR")]
    rollout = next(d for d in smartbcc.json("deal", "list", "--company", "acme") if d["title"] == "Rollout")
    assert (rollout["value"], rollout["currency"]) == ("12500.50", "EUR")
    assert "value:" in (shown := smartbcc.ok("deal", "show", str(rollout["id"]))) and "12500.50" in shown


def test_round_trip_into_a_fresh_company_in_every_shape(seeded, smartbcc, tmp_path):
    smartbcc.ok("import", "person", str(DATA / "pipedrive_people.csv"), "--company", "acme")
    smartbcc.ok("import", "deal", str(DATA / "pipedrive_deals.csv"), "--company", "acme")
    fields = {"person": ("Email", "Name", "Other emails", "Organization", "Phone"), "org": ("Name", "Domain", "Email"),
              "deal": ("Title", "Status", "Pipeline", "Contact", "Contact email", "Organization", "Value", "Currency")}

    def records(kind, company):
        return sorted(tuple(r[n] for n in fields[kind]) for r in exported(smartbcc, kind, company))
    for fmt in ("pipedrive", "hubspot", "bitrix24", "smartbcc"):
        smartbcc.ok("company", "add", fmt, "--domain", f"{fmt}.example")
        for kind in ("org", "person", "deal"):
            path = tmp_path / f"{fmt}-{kind}.csv"
            smartbcc.ok("export", kind, str(path), "--company", "acme", "--format", fmt)
            report = smartbcc.json("import", kind, str(path), "--company", fmt, "--ignore-owners")
            assert report["source"] == fmt and report["refused"] == 0, report
            assert records(kind, fmt) == records(kind, "acme"), (fmt, kind)


@pytest.mark.parametrize("backend", ["sqlite"])     # the answers come before the database matters
def test_clear_errors(seeded, smartbcc, tmp_path):
    people = str(DATA / "pipedrive_people.csv")
    assert "--from is one of" in smartbcc.fails("import", "person", people, "--company", "acme", "--from", "salesforce")
    assert "cannot read" in smartbcc.fails("import", "person", str(tmp_path / "none.csv"), "--company", "acme")
    assert "cannot write" in smartbcc.fails("export", "person", str(tmp_path / "no" / "x.csv"), "--company", "acme")
    assert "cannot write" in smartbcc.fails("import", "person", people, "--company", "acme",
                                            "--report", str(tmp_path / "no" / "r.csv"))
    assert "no company with slug 'nope'" in smartbcc.fails("import", "person", people, "--company", "nope")
    assert "simple mode, which has no leads" in smartbcc.fails("import", "lead", people, "--company", "acme")
    odd = tmp_path / "odd.csv"
    odd.write_text("Colour,Size\nred,4\n")
    assert "cannot tell which CRM wrote" in smartbcc.fails("import", "person", str(odd), "--company", "acme")
    mapping = tmp_path / "m.toml"
    mapping.write_text('[columns]\nphone_number = "Size"\n')
    assert "a person has no field 'phone_number'" in smartbcc.fails(
        "import", "person", str(odd), "--company", "acme", "--from", str(mapping))
    assert "unknown encoding" in smartbcc.fails("import", "person", people, "--company", "acme", "--encoding", "nope")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Email,Name\nx@y.example,Ada\n".encode() + "z@y.example,Ren\xe9\n".encode("latin-1"))
    assert "not utf-8 text" in smartbcc.fails("import", "person", str(latin), "--company", "acme",
                                              "--encoding", "utf-8")


def test_leads_in_classic_mode(seeded, smartbcc, tmp_path):
    smartbcc.ok("company", "set", "acme", "--crm-mode", "classic")
    leads = smartbcc.json("import", "lead", str(DATA / "pipedrive_people.csv"), "--company", "acme",
                          "--ignore-owners", "--from", "pipedrive")
    assert (leads["created"], leads["merged"], leads["refused"]) == (5, 1, 2)
    got = {lead["Email"]: lead for lead in exported(smartbcc, "lead")}
    assert got["ada@engines.example"]["Other emails"] == "ada.home@mail.example"
    assert leads["refusals"][0]["line"] == 4
    lead_file = tmp_path / "leads.csv"
    lead_file.write_text("Lead - Title,Person - Name,Organization - Name,Lead - Owner,Lead - Value\n"
                         "Website inquiry,Eve,Prospect Ltd,Ada,\nWebsite inquiry,Eve,Prospect Ltd,,\"1,500 USD\"\n")
    dry = smartbcc.json("import", "lead", str(lead_file), "--company", "acme", "--dry-run")
    once = smartbcc.json("import", "lead", str(lead_file), "--company", "acme")
    assert (dry["created"], dry["merged"]) == (1, 1)
    eve = next(lead for lead in smartbcc.json("lead", "list", "--company", "acme") if lead["name"] == "Eve")
    assert (eve["value"], eve["currency"]) == ("1500.00", "USD")                # filled by the merge
    twice = smartbcc.json("import", "lead", str(lead_file), "--company", "acme")
    assert (once["created"], once["merged"], twice["created"], twice["merged"]) == (1, 1, 0, 2)  # no address

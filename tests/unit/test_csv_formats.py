"""The pure parts of CSV import and export: column names, cells, encodings and delimiters
(gateway.crm.csv_formats, gateway.services.csv_files)."""

from __future__ import annotations

import codecs
from decimal import Decimal

import pytest

from gateway.crm import csv_formats as formats
from gateway.services.csv_files import CsvFile, detect_delimiter, detect_encoding


@pytest.mark.parametrize(("header", "source"), [
    (["Person - Name", "Person - Email - Work", "Person - Organization"], "pipedrive"),
    (["Record ID", "First Name", "Last Name", "Email", "Contact owner"], "hubspot"),
    (["ID", "Name", "Last name", "Work e-mail", "Mobile phone", "Company"], "bitrix24"),
    (["ID", "Имя", "Фамилия", "Рабочий e-mail", "Компания", "Ответственный"], "bitrix24"),
    (["Name", "Email", "Other emails", "Organization", "Owner"], "smartbcc"),
    (["Colour", "Size"], None),
])
def test_the_header_tells_the_source(header, source):
    assert formats.guess_source("person", header) == source


def test_columns_compare_loosely_and_multi_value_cells_split():
    header = ["\ufeffPERSON - NAME ", "Person - Email (Work)", "Person - Email - Other", "Person - Phone - Mobile"]
    columns = formats.locate(formats.SHAPES["pipedrive"]["person"], header + ["Person - Label"])
    values = columns.read(["Ada", "Ada <ada@x.example>", "a@y.example; b@y.example,c@y.example d@y.example; n/a",
                           "+1 555, +1 556"])
    assert values == {"name": "Ada", "emails": ["ada@x.example", "a@y.example", "b@y.example", "c@y.example",
                                                "d@y.example", "n/a"], "phones": ["+1 555", "+1 556"]}
    assert columns.unused == ("Person - Label",)


@pytest.mark.parametrize(("text", "value"), [
    ("1200", Decimal("1200")), ("1,234.50", Decimal("1234.50")), ("1.234,50", Decimal("1234.50")),
    ("12 500,50", Decimal("12500.50")), ("€ 99", Decimal("99")), ("99 USD", Decimal("99")),
    ("1,234", Decimal("1234")), ("0,5", Decimal("0.5")), ("-3", Decimal("-3")),
])
def test_amounts_as_spreadsheets_write_them(text, value):
    assert formats.number(text) == value


@pytest.mark.parametrize(("value", "currency", "kept"), [
    ("1,234.5", "eur", (Decimal("1234.50"), "EUR")), ("1 000 RUB", "", (Decimal("1000.00"), "RUB")),
    ("99 USD", "EUR", (Decimal("99.00"), "EUR")), ("€ 0.005", "", (Decimal("0.01"), None)),
    ("999999999999.99", "", (Decimal("999999999999.99"), None)),
    ("1e12", "", "too large"), ("5", "EURO", "three-letter code"), ("5", "€", "three-letter code"),
])
def test_values_and_currencies(value, currency, kept):
    if isinstance(kept, tuple):
        assert formats.money(value, currency) == kept
    else:
        with pytest.raises(ValueError, match=kept):
            formats.money(value, currency)


@pytest.mark.parametrize("text", ["a lot", "1.2.3,4,5", "NaN", "Infinity", ""])
def test_what_is_not_an_amount(text):
    with pytest.raises(ValueError, match="is not a number"):
        formats.number(text)


def test_stages_names_and_domains():
    allowed = ("won", "lost")
    assert [formats.status(s, allowed) for s in ("Closed Won", "closedlost", "Сделка успешна", "Proposal", None,
                                                 "converted")] == ["won", "lost", "won", "open", "open", "open"]
    assert formats.full_name({"first_name": "Иван", "middle_name": "Петрович", "last_name": "Сидоров"}) == (
        "Иван Петрович Сидоров")
    assert formats.full_name({"name": "  Ada   Lovelace ", "first_name": "x"}) == "Ada Lovelace"
    assert formats.split_name("Ada King Lovelace") == ("Ada", "King Lovelace")
    assert formats.domain_of("https://www.Acme.example:8443/about") == "Acme.example"
    assert formats.email_in("Bob Smith (bob@customer.example)") == "bob@customer.example"
    assert formats.email_in("Bob Smith") is None


@pytest.mark.parametrize("cell", ["=1+2", "+49 30", "-5", "@SUM(A1)", "\tx", "'=quoted", "''+x", "'plain", "a=b"])
def test_formulas_are_neutralised_and_read_back(cell):
    written = formats.neutralize(cell)
    assert written.startswith("'") or not written.startswith(("=", "+", "-", "@", "\t"))
    assert formats.unneutralize(written) == cell


def test_mapping_files_name_known_fields():
    assert formats.mapping_shape("person", {"emails": ["E-Mail", "E-Mail 2"], "name": "Name"}) == {
        "emails": ("E-Mail", "E-Mail 2"), "name": ("Name",)}
    with pytest.raises(ValueError, match="a deal has no field 'emails'"):
        formats.mapping_shape("deal", {"emails": "E-Mail"})
    with pytest.raises(ValueError, match="columns.name is a column name"):
        formats.mapping_shape("org", {"name": 3})


@pytest.mark.parametrize(("data", "encoding"), [
    ("Name,E-mail\nRené,r@x.example\n".encode("utf-8"), "utf-8"),
    (codecs.BOM_UTF8 + "Имя;E-mail\n".encode("utf-8"), "utf-8-sig"),
    (codecs.BOM_UTF16_LE + "First Name\tEmail\n".encode("utf-16-le"), "utf-16"),
    ("First Name\tEmail\n".encode("utf-16-le"), "utf-16-le"),
    ("Имя;Фамилия;Рабочий e-mail\nИван;Сидоров;i@x.example\n".encode("cp1251"), "cp1251"),
    ("Name;Firma\nRené Müller;Müller & Söhne\n".encode("cp1252"), "cp1252"),
])
def test_encodings(data, encoding):
    assert detect_encoding(data) == encoding


@pytest.mark.parametrize(("line", "delimiter"), [
    ("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ('"Name, full";Email;Phone', ";"), ("single", ","),
])
def test_delimiters(line, delimiter):
    assert detect_delimiter(line) == delimiter


def test_a_file_read_row_by_row(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + 'Name\tEmail\n\n"Ada\nLovelace"\tada@x.example\n'.encode("utf-16-le"))
    named = CsvFile(path, None, "tab")
    try:
        assert (named.encoding, named.delimiter) == ("utf-16", "\t")
        assert list(named.rows()) == [(1, ["Name", "Email"]), (3, ["Ada\nLovelace", "ada@x.example"])]
    finally:
        named.close()


def test_excel_names_its_delimiter_on_a_line_of_its_own(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("sep=;\nName;Email,Other\nAda;ada@x.example\n", encoding="utf-8")
    named = CsvFile(path)
    try:
        assert named.delimiter == ";"
        assert list(named.rows()) == [(2, ["Name", "Email,Other"]), (3, ["Ada", "ada@x.example"])]
    finally:
        named.close()

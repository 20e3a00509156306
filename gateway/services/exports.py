"""Export a company's contacts, organizations, leads or deals as CSV in the shape of a CRM's own export
(gateway.crm.csv_formats): the columns `smartbcc import` reads back.

Records are read a page at a time in id order (keyset pages), so memory stays bounded whatever their number.
Every cell a spreadsheet would run as a formula is written with a leading ``'`` (CSV injection).
A record's phone numbers go in the first phone column of the shape, as kept (``; `` between them), a value
as a plain number (``1234.50``) with its currency code in the currency column.
"""

from __future__ import annotations

import csv
from typing import Any, Callable, TextIO

from sqlalchemy import select

from gateway.crm import csv_formats as formats
from gateway.crm.csv_formats import SHAPES
from gateway.crm.kinds import Kind
from gateway.services.errors import ServiceError, company_by_slug
from gateway.services.imports import kind_named
from gateway.services.record_emails import extra_addresses
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, Organization, Person, User

PAGE = 1000
NOT_KEPT = ("middle_name",)
# the column of each shape that takes the addresses after the first, joined by ";"
OTHER_EMAILS = {"pipedrive": "Person - Email - Other", "hubspot": "Additional email addresses",
                "bitrix24": "Other e-mail", "smartbcc": "Other emails"}


def columns(fmt: str, kind: str) -> list[tuple[str, str]]:
    """(field, column) in the order an export writes them."""
    out = []
    for field, names in SHAPES[fmt][kind].items():
        if field in NOT_KEPT:
            continue
        out.append((field, names[0]))
        if field == "emails" and OTHER_EMAILS[fmt] in names and OTHER_EMAILS[fmt] != names[0]:
            out.append(("other_emails", OTHER_EMAILS[fmt]))
    return out


def _values(kind: str, record: Any, emails: list[str], orgs: dict[int, str], people: dict[int, tuple[str, str]],
            owners: dict[int, str], shape_fields: set[str]) -> dict[str, str]:
    name = getattr(record, "name", "") or ""
    first, last = formats.split_name(name)
    values = {"name": name, "first_name": first, "last_name": last, "title": getattr(record, "title", ""),
              "emails": emails[0] if emails else "", "other_emails": ";".join(emails[1:]),
              "owner": owners.get(record.owner_user_id or 0, ""), "domain": getattr(record, "domain", None) or "",
              "company_name": getattr(record, "company_name", ""), "status": getattr(record, "status", ""),
              "pipeline": getattr(record, "pipeline", ""), "phones": getattr(record, "phone", ""),
              "currency": getattr(record, "currency", None) or ""}
    value = getattr(record, "value", None)
    values["value"] = "" if value is None else str(value)
    if kind in (Kind.PERSON, Kind.DEAL):
        values["org"] = orgs.get(record.org_id or 0, "")
    if kind == Kind.DEAL and record.person_id:
        person_name, person_email = people.get(record.person_id, ("", ""))
        values["person_email"] = person_email
        # a shape with no column for the contact's address writes it beside the name: "Bob (bob@example.com)"
        values["person"] = (person_name if "person_email" in shape_fields
                            else f"{person_name} ({person_email})" if person_name else person_email)
    return values


async def export_records(db: Database, kind: str, company_slug: str, out: TextIO, fmt: str = "smartbcc",
                         progress: Callable[[int], None] | None = None) -> int:
    """Write the company's records of ``kind`` to ``out``; returns how many."""
    kind = kind_named(kind)
    if fmt not in SHAPES:
        raise ServiceError(f"the format is one of {', '.join(SHAPES)}, not {fmt!r}")
    model: Any = RECORD_MODELS[kind]
    wanted = columns(fmt, kind)
    shape_fields = set(SHAPES[fmt][kind])
    writer = csv.writer(out, lineterminator="\r\n")
    written, last_id = 0, 0
    async with db.sessions() as session:
        company = await company_by_slug(session, company_slug)
        writer.writerow([name for _, name in wanted])
        owners = {user.id: user.email for user in await session.scalars(
            select(User).where(User.company_id == company.id))}
        while True:
            page = list(await session.scalars(select(model).where(
                model.company_id == company.id, model.id > last_id).order_by(model.id).limit(PAGE)))
            if not page:
                break
            last_id = page[-1].id
            extras = await extra_addresses(session, company.id, [(kind, r.id) for r in page])
            org_ids = {r.org_id for r in page if getattr(r, "org_id", None)}
            orgs = {row.id: row.name for row in await session.execute(select(Organization.id, Organization.name).where(
                Organization.id.in_(org_ids)))} if org_ids else {}
            person_ids = {r.person_id for r in page if getattr(r, "person_id", None)}
            people = {row.id: (row.name, row.email) for row in await session.execute(
                select(Person.id, Person.name, Person.email).where(Person.id.in_(person_ids)))} if person_ids else {}
            for record in page:
                primary = getattr(record, "email", None) if kind in (Kind.PERSON, Kind.LEAD) else None
                emails = list(dict.fromkeys([*([primary] if primary else []), *extras.get((kind, record.id), [])]))
                values = _values(kind, record, emails, orgs, people, owners, shape_fields)
                writer.writerow([formats.neutralize(str(values.get(field, "") or "")) for field, _ in wanted])
            written += len(page)
            session.expunge_all()
            if progress:
                progress(written)
    return written

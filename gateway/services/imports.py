"""Import contacts, organizations, leads and deals from a CSV file: another CRM's export as it is
(gateway.crm.csv_formats), or any file with a mapping file that names its columns.

Each row is created, merged or refused. A row merges into the record of its kind that has one of its
addresses (a contact's, lead's or organization's address field or added addresses), or, for an
organization without a known address, the one of its domain or exact name; a deal merges into the deal of
the same title, contact and organization. Merging fills the empty fields and adds the new addresses; it
never overwrites. A refused row names its line and why.

The file streams: rows are read one at a time and written in batches of ``batch_size``, one transaction
each; the database is the index, so a row merges with an earlier row of the same file however far back.
A dry run makes the same pass, in one transaction rolled back, on a copy of the company's records of the
tables it touches in TEMP tables of the same names (:func:`_shadow_records`): it writes to no real table,
so on SQLite it never takes the write lock that mail being filed waits for. Memory stays bounded: one
batch, the first ``MAX_REFUSALS`` refusals kept for the report (every row goes to ``on_row``, which writes
``--report FILE``), and the company's users.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Mapping

from sqlalchemy import insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm import csv_formats as formats
from gateway.crm.csv_formats import KIND_FIELDS, SHAPES, Shape
from gateway.crm.kinds import CLOSED_STATUSES, Kind, Status
from gateway.mail.address import InvalidAddress, normalize_domain, normalize_email, validate_mailbox
from gateway.services.csv_files import DELIMITER_NAMES, CsvFile
from gateway.services.errors import ServiceError, company_by_slug
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, Company, Deal, Lead, Organization, Person, RecordEmail, User, utcnow

MAX_REFUSALS = 1000
LIMITS = {"name": 200, "title": 300, "company_name": 200, "org": 200, "pipeline": 64, "domain": 253,
          "person": 200, "phone": 1000}
KIND_NAMES = {"person": Kind.PERSON, "contact": Kind.PERSON, "org": Kind.ORG, "organization": Kind.ORG,
              "lead": Kind.LEAD, "deal": Kind.DEAL}


@dataclass(frozen=True)
class RowOutcome:
    line: int
    action: str                     # created, merged or refused
    label: str                      # the record's name, title or address as the row gave it
    record_id: int | None = None    # none when refused, or in a dry run
    note: str = ""                  # why it was refused; or what else happened (an organization made...)


@dataclass
class ImportReport:
    kind: str
    company: str
    file: str
    source: str
    encoding: str
    delimiter: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    merged: int = 0
    refused: int = 0
    organizations_created: int = 0    # for the organization column of contacts and deals
    contacts_created: int = 0         # for the contact column of deals
    unused_columns: tuple[str, ...] = ()
    refusals: list[RowOutcome] = field(default_factory=list)   # the first MAX_REFUSALS
    notes: list[RowOutcome] = field(default_factory=list)      # rows taken with a remark, the first MAX_REFUSALS

    def count(self, outcome: RowOutcome) -> None:
        self.rows += 1
        if outcome.action == "refused":
            self.refused += 1
            if len(self.refusals) < MAX_REFUSALS:
                self.refusals.append(outcome)
            return
        if outcome.action == "merged":
            self.merged += 1
        else:
            self.created += 1
        if outcome.note and len(self.notes) < MAX_REFUSALS:
            self.notes.append(outcome)


@dataclass
class Row:
    """A row read and checked: the values one record gets."""

    line: int
    label: str
    name: str = ""
    title: str = ""
    emails: list[str] = field(default_factory=list)
    org: str = ""
    domain: str | None = None
    company_name: str = ""
    owner_id: int | None = None
    status: str = Status.OPEN
    pipeline: str = ""
    person: str = ""
    person_email: str | None = None
    phone: str = ""                 # the row's phone numbers, "; " between them
    value: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Source:
    name: str                       # pipedrive, hubspot, bitrix24, smartbcc, or the mapping file's path
    shape: Shape | None             # None: guessed from the file's header
    encoding: str | None = None
    delimiter: str | None = None


def kind_named(name: str) -> str:
    try:
        return KIND_NAMES[name.strip().lower()]
    except KeyError:
        raise ServiceError(f"the kind is one of {', '.join(KIND_NAMES)}, not {name!r}") from None


def load_source(kind: str, given: str | None) -> Source:
    """``--from``: a CRM's name, a mapping file (TOML), or nothing (the header tells)."""
    if given is None:
        return Source("", None)
    if given.lower() in SHAPES:
        return Source(given.lower(), SHAPES[given.lower()][kind])
    path = Path(given)
    if not path.suffix.lower() == ".toml":
        raise ServiceError(f"--from is one of {', '.join(SHAPES)} or a mapping file ending in .toml, not {given!r}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ServiceError(f"cannot read the mapping file {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ServiceError(f"the mapping file {path} is not valid TOML: {error}") from None
    columns = data.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise ServiceError(f"the mapping file {path} needs a [columns] table: field = \"Column name\" "
                           f"(fields: {', '.join(KIND_FIELDS[kind])})")
    unknown = set(data) - {"columns", "encoding", "delimiter"}
    if unknown:
        raise ServiceError(f"the mapping file {path} has unknown keys: {', '.join(sorted(unknown))} "
                           "(it takes encoding, delimiter and [columns])")
    try:
        shape = formats.mapping_shape(kind, columns)
    except ValueError as error:
        raise ServiceError(f"the mapping file {path}: {error}") from None
    for key in ("encoding", "delimiter"):
        if key in data and not isinstance(data[key], str):
            raise ServiceError(f"the mapping file {path}: {key} is a string")
    return Source(str(path), shape, data.get("encoding"), data.get("delimiter"))


class Owners:
    """The company's users, found by address or by name as exports write owners."""

    def __init__(self, users: list[User], ignore: bool) -> None:
        self.ignore = ignore
        self.by_email = {user.email: user for user in users}
        by_name: dict[str, list[User]] = {}
        for user in users:
            if user.name.strip():
                by_name.setdefault(user.name.strip().casefold(), []).append(user)
        self.by_name = {name: found[0] for name, found in by_name.items() if len(found) == 1}

    def find(self, text: str | None, company: str) -> int | None:
        """The owner's user id; raises ValueError saying why a named owner cannot be one."""
        if not text or self.ignore:
            return None
        address = formats.email_in(text)
        user = None
        if address:
            try:
                user = self.by_email.get(normalize_email(address))
            except InvalidAddress:
                user = None
        if user is None:
            user = self.by_name.get(" ".join(text.split()).casefold())
        if user is None:
            raise ValueError(f"unknown owner {text!r}: no user of {company} has that address or name "
                             "(add them with `smartbcc user add`, or import with --ignore-owners)")
        if not user.active:
            raise ValueError(f"owner {text!r} is deactivated: an owner is an active user")
        return user.id


def _text(values: Mapping[str, object], name: str) -> str:
    value = values.get(name)
    text = value if isinstance(value, str) else ""
    limit = LIMITS.get(name)
    if limit and len(text) > limit:
        raise ValueError(f"{name.replace('_', ' ')} longer than {limit} characters")
    return text


def check_row(kind: str, line: int, values: Mapping[str, Any], owners: Owners, company: str) -> Row:
    """The record a row gives, or ValueError saying why it is refused."""
    emails: list[str] = []
    for address in values.get("emails", []):
        try:
            email = validate_mailbox(address)
        except InvalidAddress as error:
            raise ValueError(str(error)) from None
        if email not in emails:
            emails.append(email)
    name = formats.full_name(values)
    if len(name) > LIMITS["name"]:
        raise ValueError(f"name longer than {LIMITS['name']} characters")
    row = Row(line, "", name=name, emails=emails, owner_id=owners.find(_text(values, "owner"), company))
    if kind == Kind.PERSON:
        if not emails:
            raise ValueError("no name and no email address" if not name else
                             "no email address: a contact is known by its address")
        row.org = _text(values, "org")
    elif kind == Kind.ORG:
        row.name = _text(values, "name")
        if values.get("domain"):
            try:
                row.domain = normalize_domain(formats.domain_of(_text(values, "domain")))
            except InvalidAddress as error:
                raise ValueError(str(error)) from None
        if not row.name:
            raise ValueError("no name: an organization needs one")
    elif kind == Kind.LEAD:
        row.company_name = _text(values, "company_name")
        row.title = _text(values, "title") or name or row.company_name or (emails[0] if emails else "")
        if not row.title:
            raise ValueError("no title, name, company or email address")
        row.title = row.title[:LIMITS["title"]]
        # a lead converted elsewhere has no deal here to point to: it comes in open, or lost
        row.status = formats.status(_text(values, "status"), (Status.LOST,))
    else:
        row.title = _text(values, "title")
        if not row.title:
            raise ValueError("no title: a deal needs one")
        row.status = formats.status(_text(values, "status"), CLOSED_STATUSES[Kind.DEAL])
        row.pipeline = _text(values, "pipeline")
        row.org = _text(values, "org")
        row.person = _text(values, "person")
        address = _text(values, "person_email") or formats.email_in(row.person)
        if address:
            try:
                row.person_email = validate_mailbox(address)
            except InvalidAddress as error:
                raise ValueError(f"the deal's contact: {error}") from None
            if row.person_email and formats.email_in(row.person):
                row.person = row.person.replace(address, "").strip(" ()<>\"'")
    row.label = row.title or row.name or (emails[0] if emails else "")
    if kind != Kind.DEAL:
        row.phone = "; ".join(dict.fromkeys(values.get("phones", [])))
        if len(row.phone) > LIMITS["phone"]:
            raise ValueError(f"phone numbers longer than {LIMITS['phone']} characters")
    if kind in (Kind.DEAL, Kind.LEAD):
        currency = _text(values, "currency")
        if values.get("value"):
            row.value, row.currency = formats.money(_text(values, "value"), currency)
        elif currency:
            row.currency = formats.money("0", currency)[1]
    return row


class New(SimpleNamespace):
    """A record this batch makes: its values, and its id once the batch's one INSERT of its kind ran."""

    id: int | None = None


class Batch:
    """One transaction's rows applied: the lookups of a batch, one multi-row INSERT per table, one flush."""

    def __init__(self, session: AsyncSession, company: Company, kind: str, report: ImportReport) -> None:
        self.session, self.company, self.kind, self.report = session, company, kind, report
        self.made: dict[Any, list[New]] = {}                   # model -> the records to insert
        self.new_emails: list[tuple[Any, str, str]] = []      # (record, kind, address) to add once it has an id

    def new(self, model: Any, **values: Any) -> New:
        record = New(company_id=self.company.id, owner_user_id=None, **values)
        self.made.setdefault(model, []).append(record)
        return record

    async def insert(self, model: Any) -> None:
        """Write the new records of ``model`` in one statement and give each its id."""
        made = self.made.pop(model, [])
        if made:
            values = [{k: v for k, v in vars(record).items() if k != "id"} for record in made]
            ids = await self.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), values)
            for record, record_id in zip(made, ids):
                record.id = record_id

    async def by_email(self, kind: str, emails: set[str]) -> dict[str, Any]:
        """The records of ``kind`` that have one of these addresses, by address."""
        if not emails:
            return {}
        model: Any = RECORD_MODELS[kind]
        found: dict[str, Any] = {}
        ids: dict[str, int] = {}
        if kind in (Kind.PERSON, Kind.LEAD):
            for record in await self.session.scalars(select(model).where(
                    model.company_id == self.company.id, model.email.in_(emails))):
                found.setdefault(record.email, record)
        for email, record_id in await self.session.execute(select(RecordEmail.email, RecordEmail.record_id).where(
                RecordEmail.company_id == self.company.id, RecordEmail.kind == kind, RecordEmail.email.in_(emails))):
            if email not in found:
                ids[email] = record_id
        if ids:
            records = {r.id: r for r in await self.session.scalars(
                select(model).where(model.id.in_(set(ids.values()))))}
            found.update({email: records[i] for email, i in ids.items() if i in records})
        return found

    async def organizations(self, names: set[str]) -> dict[str, Any]:
        """The organizations of these exact names; those missing are made (and counted) at once."""
        if not names:
            return {}
        found: dict[str, Any] = {}
        for org in await self.session.scalars(select(Organization).where(
                Organization.company_id == self.company.id, Organization.name.in_(names)).order_by(Organization.id)):
            found.setdefault(org.name, org)
        for name in sorted(names - set(found)):
            found[name] = self.new(Organization, name=name, domain=None, phone="")
            self.report.organizations_created += 1
        await self.insert(Organization)
        return found

    def add_addresses(self, record: Any, kind: str, emails: list[str], index: dict[str, Any]) -> str:
        """Add the addresses not yet known; a note names those another record has."""
        taken = [e for e in emails if e in index and index[e] is not record]
        for email in emails:
            if email not in index:
                index[email] = record
                if email != getattr(record, "email", None):
                    self.new_emails.append((record, kind, email))
        return f"kept by another record, not added: {', '.join(taken)}" if taken else ""

    async def finish(self) -> None:
        for model in list(self.made):
            await self.insert(model)
        await self.session.flush()       # the merged records' filled fields
        if self.new_emails:
            await self.session.execute(insert(RecordEmail), [
                {"company_id": self.company.id, "kind": kind, "record_id": record.id, "email": email}
                for record, kind, email in self.new_emails])

    @staticmethod
    def fill(record: Any, **values: Any) -> None:
        """Merge: set the fields that are empty."""
        for name, value in values.items():
            if value and not getattr(record, name):
                setattr(record, name, value)

    @staticmethod
    def fill_value(record: Any, row: Row) -> None:
        """Merge a value and its currency: when the record has no value, and no currency or the row's."""
        if record.value is None and record.currency in (None, row.currency):
            record.value, record.currency = row.value, row.currency or record.currency

    async def people(self, rows: list[Row]) -> list[tuple[Row, Any, str, str]]:
        index = await self.by_email(Kind.PERSON, {e for row in rows for e in row.emails})
        orgs = await self.organizations({row.org for row in rows if row.org})
        done = []
        for row in rows:
            org = orgs.get(row.org)
            match = next((index[e] for e in row.emails if e in index), None)
            if match is None:
                match = self.new(Person, email=row.emails[0], name=row.name, org_id=org.id if org else None,
                                 phone=row.phone)
                match.owner_user_id = row.owner_id
                action = "created"
            else:
                self.fill(match, name=row.name, org_id=org.id if org else None, owner_user_id=row.owner_id,
                          phone=row.phone)
                action = "merged"
            done.append((row, match, action, self.add_addresses(match, Kind.PERSON, row.emails, index)))
        return done

    async def leads(self, rows: list[Row]) -> list[tuple[Row, Any, str, str]]:
        index = await self.by_email(Kind.LEAD, {e for row in rows for e in row.emails})
        # a lead without an address merges into the one of the same title, name and company name
        unaddressed: dict[tuple[str, str, str], Any] = {}
        titles = {row.title for row in rows if not row.emails}
        if titles:
            for lead in await self.session.scalars(select(Lead).where(
                    Lead.company_id == self.company.id, Lead.email.is_(None),
                    Lead.title.in_(titles)).order_by(Lead.id)):
                unaddressed.setdefault((lead.title, lead.name, lead.company_name), lead)
        done = []
        for row in rows:
            match = next((index[e] for e in row.emails if e in index), None)
            if match is None and not row.emails:
                match = unaddressed.get((row.title, row.name, row.company_name))
            if match is None:
                match = self.new(Lead, title=row.title, name=row.name, email=row.emails[0] if row.emails else None,
                                 company_name=row.company_name, status=row.status, phone=row.phone,
                                 value=row.value, currency=row.currency,
                                 closed_at=utcnow() if row.status != Status.OPEN else None)
                match.owner_user_id = row.owner_id
                if not row.emails:
                    unaddressed[(row.title, row.name, row.company_name)] = match
                action = "created"
            else:
                self.fill(match, name=row.name, company_name=row.company_name, owner_user_id=row.owner_id,
                          phone=row.phone)
                self.fill_value(match, row)
                action = "merged"
            done.append((row, match, action, self.add_addresses(match, Kind.LEAD, row.emails, index)))
        return done

    async def orgs(self, rows: list[Row]) -> list[tuple[Row, Any, str, str]]:
        index = await self.by_email(Kind.ORG, {e for row in rows for e in row.emails})
        names = {row.name for row in rows}
        domains = {row.domain for row in rows if row.domain}
        by_domain: dict[str, Any] = {}
        by_name: dict[str, Any] = {}
        for org in await self.session.scalars(select(Organization).where(
                Organization.company_id == self.company.id,
                or_(Organization.name.in_(names), Organization.domain.in_(domains))).order_by(Organization.id)):
            by_name.setdefault(org.name, org)
            if org.domain:
                by_domain.setdefault(org.domain, org)
        done = []
        for row in rows:
            match = (next((index[e] for e in row.emails if e in index), None)
                     or (by_domain.get(row.domain) if row.domain else None) or by_name.get(row.name))
            if match is None:
                match = self.new(Organization, name=row.name, domain=row.domain, phone=row.phone)
                match.owner_user_id = row.owner_id
                action = "created"
            else:
                self.fill(match, domain=row.domain, owner_user_id=row.owner_id, phone=row.phone)
                action = "merged"
            by_name.setdefault(row.name, match)
            if row.domain:
                by_domain.setdefault(row.domain, match)
            done.append((row, match, action, self.add_addresses(match, Kind.ORG, row.emails, index)))
        return done

    async def deals(self, rows: list[Row]) -> list[tuple[Row, Any, str, str]]:
        orgs = await self.organizations({row.org for row in rows if row.org})
        people = await self.by_email(Kind.PERSON, {row.person_email for row in rows if row.person_email})
        named: dict[str, list[int]] = {}
        names = {row.person for row in rows if row.person and not row.person_email}
        if names:
            for pid, name in await self.session.execute(select(Person.id, Person.name).where(
                    Person.company_id == self.company.id, Person.name.in_(names))):
                named.setdefault(name, []).append(pid)
        for row in rows:
            if row.person_email and row.person_email not in people:
                people[row.person_email] = self.new(Person, email=row.person_email, name=row.person[:LIMITS["name"]],
                                                    org_id=orgs[row.org].id if row.org else None, phone="")
                self.report.contacts_created += 1
        await self.insert(Person)
        existing: dict[tuple[str, int | None, int | None], Any] = {}
        for deal in await self.session.scalars(select(Deal).where(
                Deal.company_id == self.company.id, Deal.title.in_({row.title for row in rows})).order_by(Deal.id)):
            existing.setdefault((deal.title, deal.person_id, deal.org_id), deal)
        done = []
        for row in rows:
            org_id = orgs[row.org].id if row.org else None
            if row.person_email:
                person_id: int | None = people[row.person_email].id
            else:
                ids = named.get(row.person, [])
                person_id = ids[0] if len(ids) == 1 else None
            note = f"contact {row.person!r} not linked: no address, and not one contact of that name" if (
                row.person and person_id is None) else ""
            closed = utcnow() if row.status != Status.OPEN else None
            match = existing.get((row.title, person_id, org_id))
            if match is None:
                match = self.new(Deal, title=row.title, status=row.status, closed_at=closed,
                                 pipeline=row.pipeline or "default", person_id=person_id, org_id=org_id,
                                 value=row.value, currency=row.currency)
                match.owner_user_id = row.owner_id
                existing[(row.title, person_id, org_id)] = match
                action = "created"
            else:
                self.fill(match, owner_user_id=row.owner_id)
                self.fill_value(match, row)
                if match.status == Status.OPEN and row.status != Status.OPEN:
                    match.status, match.closed_at = row.status, closed
                action = "merged"
            done.append((row, match, action, note))
        return done


async def import_file(db: Database, kind: str, company_slug: str, path: Path, source: Source, *,
                      dry_run: bool = False, encoding: str | None = None, delimiter: str | None = None,
                      ignore_owners: bool = False, batch_size: int = 1000,
                      on_row: Callable[[RowOutcome], None] | None = None,
                      progress: Callable[[int], None] | None = None) -> ImportReport:
    """Import ``path`` into the company's records of ``kind``; see the module's docstring."""
    kind = kind_named(kind)
    async with db.sessions() as session:
        company = await company_by_slug(session, company_slug)
        users = list(await session.scalars(select(User).where(User.company_id == company.id)))
    if kind == Kind.LEAD and company.crm_mode == "simple":
        raise ServiceError(f"{company.slug} is in simple mode, which has no leads: import contacts and deals, or "
                           f"switch with `smartbcc company set {company.slug} --crm-mode classic`")
    owners = Owners(users, ignore_owners)
    csv_file = CsvFile(path, encoding or source.encoding, delimiter or source.delimiter)
    try:
        rows = csv_file.rows()
        header = next(rows, (0, []))[1]
        name = source.name or formats.guess_source(kind, header)
        shape = source.shape or (SHAPES[name][kind] if name else None)
        if shape is None or name is None:
            raise ServiceError(f"cannot tell which CRM wrote {path}: its header names none of the columns "
                               f"{', '.join(SHAPES)} exports have for a {kind}; give --from, or a mapping file")
        columns = formats.locate(shape, header)
        if not columns.positions:
            raise ServiceError(f"{path} has none of the columns {name} writes for a {kind}: "
                               f"{', '.join(n for names in shape.values() for n in names)}")
        report = ImportReport(kind, company.slug, str(path), name, csv_file.encoding,
                              DELIMITER_NAMES.get(csv_file.delimiter, csv_file.delimiter), dry_run,
                              unused_columns=columns.unused)
        session = AsyncSession(db.engine, expire_on_commit=False) if dry_run else db.writing()
        rollback = await session.begin() if dry_run else None
        try:
            if dry_run:
                await _shadow_records(session, company.id, DRY_RUN_TABLES[kind])
            batch: list[Row] = []
            refused: list[RowOutcome] = []
            for line, cells in rows:
                values = columns.read(cells)
                try:
                    batch.append(check_row(kind, line, values, owners, company.slug))
                except ValueError as error:
                    label = formats.full_name(values) or str(values.get("title", ""))
                    refused.append(RowOutcome(line, "refused", label, None, str(error)))
                if len(batch) + len(refused) >= batch_size:
                    await _apply(session, company, kind, batch, refused, report, on_row, dry_run)
                    batch, refused = [], []
                    if progress:
                        progress(csv_file.position)
            await _apply(session, company, kind, batch, refused, report, on_row, dry_run)
            if progress:
                progress(csv_file.size)
        finally:
            if rollback is not None:
                await rollback.rollback()
            await session.close()
    finally:
        csv_file.close()
    return report


# what a dry run copies, per kind imported: the tables its rows are looked up in and written to
DRY_RUN_TABLES: dict[str, tuple[Any, ...]] = {
    Kind.PERSON: (Organization, Person, RecordEmail), Kind.ORG: (Organization, RecordEmail),
    Kind.LEAD: (Lead, RecordEmail), Kind.DEAL: (Organization, Person, Deal, RecordEmail)}
# the columns a dry run's copies are indexed on: those its lookups compare
_LOOKED_UP = {"organizations": ("name", "domain"), "persons": ("email", "name"), "leads": ("email", "title"),
              "deals": ("title",), "record_emails": ("email",)}


async def _shadow_records(session: AsyncSession, company_id: int, models: tuple[Any, ...]) -> None:
    """Copy the company's records of ``models`` into TEMP tables of the same names, which hide the real
    ones from this connection (SQLite and PostgreSQL both look in the connection's temporary schema
    first): the dry run reads, merges and writes there, and never writes to (or locks) a real table."""
    dialect = (await session.connection()).dialect
    quote = dialect.identifier_preparer.quote
    # where the real tables are: read before the copies hide them
    source = "main" if dialect.name == "sqlite" else quote(str(await session.scalar(text("SELECT current_schema()"))))
    key = " PRIMARY KEY" if dialect.name == "sqlite" else " GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    for model in models:
        table = model.__table__
        names = ", ".join(quote(column.name) for column in table.columns)
        definitions = ", ".join(f"{quote(c.name)} {c.type.compile(dialect)}{key if c.primary_key else ''}"
                                for c in table.columns)
        await session.execute(text(f"CREATE TEMPORARY TABLE {quote(table.name)} ({definitions})"))
        await session.execute(text(f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} "
                                   f"FROM {source}.{quote(table.name)} WHERE company_id = :company"),
                              {"company": company_id})
        for column in _LOOKED_UP[table.name]:
            await session.execute(text(f"CREATE INDEX {quote(f'dry_run_{table.name}_{column}')} "
                                       f"ON {quote(table.name)} (company_id, {quote(column)})"))
        if dialect.name != "sqlite":     # the copy's new ids follow the copied ones
            await session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('pg_temp.{table.name}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM pg_temp.{quote(table.name)}), false)"))


async def _apply(session: AsyncSession, company: Company, kind: str, rows: list[Row], refused: list[RowOutcome],
                 report: ImportReport, on_row: Callable[[RowOutcome], None] | None, dry_run: bool) -> None:
    """Write one batch (one transaction, but for a dry run's), then count its rows in line order."""
    async def work() -> list[tuple[Row, Any, str, str]]:
        batch = Batch(session, company, kind, report)
        apply: dict[str, Callable[[list[Row]], Any]] = {
            Kind.PERSON: batch.people, Kind.ORG: batch.orgs, Kind.LEAD: batch.leads, Kind.DEAL: batch.deals}
        done = await apply[kind](rows)
        await batch.finish()
        return done
    try:
        if not rows:
            done = []
        elif dry_run:
            done = await work()
        else:
            async with session.begin():
                done = await work()
    except IntegrityError:
        raise ServiceError(f"lines {rows[0].line} to {rows[-1].line}: a record with one of their addresses was "
                           "added meanwhile (by mail?); nothing of these lines was written. Import the file again: "
                           "the rows already written merge") from None
    outcomes = [*refused, *(RowOutcome(row.line, action, row.label, None if dry_run else record.id, note)
                            for row, record, action, note in done)]
    for outcome in sorted(outcomes, key=lambda outcome: outcome.line):
        report.count(outcome)
        if on_row:
            on_row(outcome)
    session.expunge_all()

"""The database schema: companies and their users, CRM records, stored messages and their links.

Alembic migrations in ``store/migrations`` create exactly these tables; a test checks that the two agree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, Numeric, String, Text,
    UniqueConstraint, false,
)
from sqlalchemy import true
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from gateway.crm.kinds import Kind, Status


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so it is stored as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


class DeploymentSetting(Base):
    """Values one deployment keeps for all its processes (the key that signs record addresses)."""

    __tablename__ = "deployment_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Company(Base):
    __tablename__ = "companies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    crm_mode: Mapped[str] = mapped_column(String(16), default="simple")
    # simple mode: open a deal for a message from someone the CRM has not seen
    deal_for_new_inquiry: Mapped[bool] = mapped_column(Boolean, default=False)
    # classic mode: what an unknown address becomes, "lead" or "contact"
    classic_creates: Mapped[str] = mapped_column(String(16), default="lead")
    max_new_contacts: Mapped[int] = mapped_column(Integer, default=20)
    # anti-spoofing overrides; None: the deployment's setting
    antispoof_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    antispoof_policy: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # sending from a record: False limits recipients to the record's and its linked contacts' and
    # companies' addresses (Bitrix24's rules); True allows any address
    allow_any_address: Mapped[bool] = mapped_column(Boolean, default=False)
    # with allow_any_address: what an address the CRM does not know yet becomes, "lead" or "contact"
    any_address_creates: Mapped[str] = mapped_column(String(16), default="lead")
    # connected mailboxes: file synced mail from or to known contacts at once (True), or only when the
    # user saves it to the CRM (False) (Bitrix24's "assign e-mails from known clients")
    mailbox_autofile: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # the domains of the company's colleagues: their addresses that are not users make no contact;
    # None: ``domain`` alone
    own_domains: Mapped[list | None] = mapped_column(JSON, default=None)
    # an unknown company domain (not a free-mail provider's) makes an organization for its new contacts
    create_orgs: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class LookupGeneration(Base):
    """One row whose ``value`` grows with every write to the tables the SMTP side keeps lookups of
    (companies, former_slugs, users, alternate_addresses, exclusions), whoever writes them: triggers
    made by migration 0013 bump it. A serving process keeps what it read of those tables while the value
    is unchanged (gateway.store.lookup_cache), and reads them again once it moves."""

    __tablename__ = "lookup_generation"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class FormerSlug(Base):
    """A company address retired by a domain change; still accepted until ``expires_at``."""

    __tablename__ = "former_slugs"
    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column()


class Exclusion(Base):
    """An address or a whole domain the company never logs: no contact, no participant."""

    __tablename__ = "exclusions"
    __table_args__ = (UniqueConstraint("company_id", "pattern"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    pattern: Mapped[str] = mapped_column(String(320))    # "someone@example.com" or "example.com"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_link: Mapped[bool] = mapped_column(Boolean, default=True)
    default_visibility: Mapped[str] = mapped_column(String(16), default="private")
    # "member" or "admin" (`smartbcc user set-role`): admins see and change the company's settings on the web
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    # a daily mail of their unread notifications (gateway.services.digest), and when the last one went out
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_at: Mapped[datetime | None] = mapped_column(default=None)
    # the language of their web pages and mail (gateway.locale.LANGUAGES); None: the browser's, English in mail
    language: Mapped[str | None] = mapped_column(String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlternateAddress(Base):
    """Another address a user sends from; it authorizes mail only once verified."""

    __tablename__ = "alternate_addresses"
    __table_args__ = (UniqueConstraint("company_id", "email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    code_hash: Mapped[str | None] = mapped_column(String(128), default=None)
    reply_token: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)


class _Record(Base):
    """Columns every CRM record shares. ``token_version`` changes when its Bcc address is rotated."""

    __abstract__ = True     # no table of its own: each kind of record has its table with these columns

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_from_message_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Organization(_Record, Base):
    __tablename__ = "organizations"
    __table_args__ = (Index("ix_organizations_company_domain", "company_id", "domain"),)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253), default=None)
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")    # see Person.phone


class Person(_Record, Base):
    """A contact. ``email`` is normalized; one contact per address within a company."""

    __tablename__ = "persons"
    # the second: the contacts a message made, which its webhook events name (gateway.store.outbox)
    __table_args__ = (UniqueConstraint("company_id", "email"),
                      Index("ix_persons_created_from_message_id", "created_from_message_id"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), default=None, index=True)
    # its phone numbers as one text, "; " between them, as written (no format is imposed)
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")


class _Dealish(_Record):
    __abstract__ = True
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default=Status.OPEN)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)


class Lead(_Dealish, Base):
    """A lead; in classic mode one made from an unknown address keeps that address and name."""

    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_company_email", "company_id", "email"),)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    name: Mapped[str] = mapped_column(String(200), default="")
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), default=None, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), default=None)
    # the prospect's company as typed on the lead; converting the lead can make it an organization
    company_name: Mapped[str] = mapped_column(String(200), default="")
    # set when a CRM mode switch turned the lead into a deal (status "converted")
    converted_deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), default=None)
    phone: Mapped[str] = mapped_column(Text, default="", server_default="")    # see Person.phone
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), default=None)    # see Deal.value
    currency: Mapped[str | None] = mapped_column(String(3), default=None)


class Deal(_Dealish, Base):
    __tablename__ = "deals"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), default=None, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), default=None)
    pipeline: Mapped[str] = mapped_column(String(64), default="default")
    # what it is worth, in ``currency`` (a three-letter code, upper case); either may be unknown
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)


class Project(_Dealish, Base):
    __tablename__ = "projects"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), default=None, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), default=None)


class Invoice(_Dealish, Base):
    """An invoice: mail sent from it goes to its contact and company (no Bcc address of its own)."""

    __tablename__ = "invoices"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), default=None, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), default=None)


class Quote(_Dealish, Base):
    __tablename__ = "quotes"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), default=None, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), default=None)


class SmartProcess(_Dealish, Base):
    """An item of a smart process (Bitrix24's user-defined record type): a title, a contact, a company."""

    __tablename__ = "smart_processes"
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id"), default=None, index=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), default=None)


# each kind's model, keyed by Kind; typed with str keys so that a kind read as a plain string (a row's
# ``kind`` column, an option) finds its model as well (a StrEnum member equals and hashes as its string)
RECORD_MODELS: dict[str, type[_Record]] = {
    Kind.PERSON: Person, Kind.ORG: Organization, Kind.LEAD: Lead, Kind.DEAL: Deal, Kind.PROJECT: Project,
    Kind.INVOICE: Invoice, Kind.QUOTE: Quote, Kind.SMART: SmartProcess,
}
# the records a contact may have several of open at once (review items offer them): a title and a status
DEALISH_MODELS: dict[str, type[_Dealish]] = {Kind.DEAL: Deal, Kind.LEAD: Lead, Kind.PROJECT: Project}


class RecordEmail(Base):
    """An address of a lead, contact or organization besides its own email field, and when mail sent from
    a record last went to an address of that record (a primary address gets a row once it is used).

    Recipients of mail sent from a record are listed most recently used first.
    """

    __tablename__ = "record_emails"
    __table_args__ = (
        UniqueConstraint("company_id", "kind", "record_id", "email", name="uq_record_emails_address"),
        Index("ix_record_emails_company_email", "company_id", "email"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(Integer)
    email: Mapped[str] = mapped_column(String(320))
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Permission(Base):
    """What a user may do with one kind of CRM record: view and edit, each "none", "own" (records the
    user owns) or "all". A user without a row for a kind has all / all: a new install works for everyone
    until an admin narrows it (`smartbcc permission set`)."""

    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_permissions_user_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    view: Mapped[str] = mapped_column(String(8), default="all")
    edit: Mapped[str] = mapped_column(String(8), default="all")


class Activity(Base):
    """A call, meeting or task on a record: planned until completed. A CRM mode switch moves a lead's
    planned activities to its deal or completes them."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_record", "company_id", "kind", "record_id"),
                      Index("ix_activities_owner_status", "owner_user_id", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="planned")    # planned / completed
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a task made from a message (gateway.services.tasks; no foreign key, see migration 0011: readers look
    # the message up through visibility); its owner hears once that it is overdue
    message_pk: Mapped[int | None] = mapped_column(Integer, default=None)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(default=None)


class Comment(Base):
    """A colleague's word in the discussion of a message: seen by exactly whoever may see the message."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_message_pk", "message_pk", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("company_id", "message_id", "content_hash", name="uq_messages_identity"),
        Index("ix_messages_company_message_id", "company_id", "message_id"),
        # the web mailbox's keyset pages, newest first: a user's own mail, and the company's shared mail, each
    # by direction (Inbox holds incoming mail, Sent outgoing)
        Index("ix_messages_owner_received", "owner_user_id", "direction", "received_at", "id"),
        Index("ix_messages_shared_received", "company_id", "visibility", "direction", "received_at", "id"),
        # a reply to a forwarded original joins the records the forward was filed on (filing.context)
        Index("ix_messages_company_original_message_id", "company_id", "original_message_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    visibility: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(16), default="outgoing")   # or "incoming" (routing.links)
    message_id: Mapped[str] = mapped_column(String(998))
    content_hash: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[datetime | None] = mapped_column(default=None)
    from_email: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(200), default="")
    to_addrs: Mapped[list] = mapped_column(JSON, default=list)
    cc_addrs: Mapped[list] = mapped_column(JSON, default=list)
    in_reply_to: Mapped[list] = mapped_column(JSON, default=list)
    references: Mapped[list] = mapped_column(JSON, default=list)
    text_body: Mapped[str] = mapped_column(Text, default="")
    html_body: Mapped[str] = mapped_column(Text, default="")
    forwarded: Mapped[dict | None] = mapped_column(JSON, default=None)
    # the Message-ID of the forwarded original (attached, or named in an inline block); None when unknown
    original_message_id: Mapped[str | None] = mapped_column(String(998), default=None)
    auto_generated: Mapped[str] = mapped_column(String(200), default="")
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    envelope_rcpts: Mapped[list] = mapped_column(JSON, default=list)
    client_address: Mapped[str] = mapped_column(String(64), default="")
    auth_verdict: Mapped[str] = mapped_column(String(32), default="none")
    auth_reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # what the parser's budget cut or skipped, one per line; "" when every field was read whole
    parse_degraded: Mapped[str] = mapped_column(Text, default="", server_default="")
    # which participants filing made no record for, and why, one per line (gateway.routing.links)
    filing_notes: Mapped[str] = mapped_column(Text, default="", server_default="")

    links: Mapped[list["Link"]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True)
    attachments: Mapped[list["Attachment"]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Attachment.id")


class ReviewItem(Base):
    """A message that could not be linked on its own: a contact with several open deals (or leads,
    projects). ``candidates`` lists them best first; an admin or the owner resolves it."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("message_pk", "kind", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"), index=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(Integer)
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolved_record_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class QuarantinedMessage(Base):
    """A message that was accepted but could not be filed: raw bytes, envelope and the reason,
    kept until an admin replays it (`smartbcc quarantine replay ID`)."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), default=None, index=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    envelope_rcpts: Mapped[list] = mapped_column(JSON, default=list)
    client_address: Mapped[str] = mapped_column(String(64), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="waiting")   # waiting / replayed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    content_hash: Mapped[str] = mapped_column(String(64), default="", server_default="", index=True)
    arrivals: Mapped[int] = mapped_column(Integer, default=1, server_default="1")   # deliveries by the sender
    replayed_message_pk: Mapped[int | None] = mapped_column(default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    replayed_at: Mapped[datetime | None] = mapped_column(default=None)


class MessageRaw(Base):
    """The message exactly as received, kept apart so that listing messages never loads it: in ``raw``,
    or, for a large message, in the pieces of ``upload`` (``raw`` is then empty; gateway.store.raw)."""

    __tablename__ = "message_raw"
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    upload: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)


class RawPiece(Base):
    """A piece of a large message's raw bytes, written ahead of its filing (gateway.store.raw)."""

    __tablename__ = "raw_pieces"
    upload: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class Link(Base):
    """A message shown on a record, with the rule that put it there (the audit trail)."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("message_pk", "kind", "record_id", name="uq_links_message_record"),
        Index("ix_links_record", "kind", "record_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    message: Mapped[Message] = relationship(back_populates="links")


# --- the web mailbox (gateway.web): sign-in, sessions, tokens, and each user's view of the mail -------------

class WebPassword(Base):
    """A user's web password as an argon2 hash (`smartbcc user set-password`)."""

    __tablename__ = "web_passwords"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    hash: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the table its sha256 (so a database read
    gives no usable cookie). Deleting the row signs the browser out."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class SignInCode(Base):
    """A one-time sign-in code mailed to a user; kept as a keyed hash, used once, expires."""

    __tablename__ = "sign_in_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class SignInFailure(Base):
    """A failed sign-in, by login address and by client address: the rate limit counts these."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(330))       # "email:<address>" or "client:<ip>"
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessToken(Base):
    """A personal access token for the JSON API (`smartbcc token create`); only its sha256 is kept."""

    __tablename__ = "access_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class MailFolder(Base):
    """A folder a user made in their web mailbox (Inbox, Sent, Spam and Trash are built in)."""

    __tablename__ = "mail_folders"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_mail_folders_user_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxEntry(Base):
    """One user's state of one message they may see: read or not, and its folder when not the default
    (None: Sent for outgoing mail, else Inbox). No row: unread, in its default folder. ``received_at``
    is the message's, copied so that a folder lists newest first from this table's index alone."""

    __tablename__ = "mailbox_entries"
    __table_args__ = (
        Index("ix_mailbox_entries_folder", "user_id", "folder", "folder_id", "received_at", "message_pk"),
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True,
                                            index=True)
    read: Mapped[bool] = mapped_column(Boolean, default=False)
    folder: Mapped[str | None] = mapped_column(String(16), default=None)   # inbox sent spam trash purged folder
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("mail_folders.id", ondelete="SET NULL"), default=None)
    received_at: Mapped[datetime] = mapped_column()


class Notification(Base):
    """Something a user should hear of: a new review item, a bounce of mail they sent, a mention, an
    overdue task. Unread until they open it or mark it read; the web app counts the unread ones, and a
    daily digest mails them to those who asked for it. ``message_pk`` and the record say what it is about,
    so that a notification is shown only while its user may still see that."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))      # review, bounce, mention, overdue (NotificationKind)
    text: Mapped[str] = mapped_column(Text, default="")
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), default=None,
                                                   index=True)
    record_kind: Mapped[str | None] = mapped_column(String(16), default=None)
    record_id: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(default=None)
    mailed_at: Mapped[datetime | None] = mapped_column(default=None)    # when a digest carried it
    activity_id: Mapped[int | None] = mapped_column(Integer, default=None)   # the task (no foreign key: 0007)


class OutboundMail(Base):
    """A message sent from a record through the smarthost, and the token of its own envelope sender
    (``<slug>+bounce-<token>@<mail_domain>``, VERP): a bounce to that address finds the message. Written
    before the message leaves, so that no bounce can arrive before it; ``message_pk`` once it is stored."""

    __tablename__ = "outbound_mail"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(32), unique=True)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), default=None,
                                                   index=True)
    record_kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bounce(Base):
    """A delivery report (RFC 3464, or a plain bounce) that came back to a sent message's envelope sender:
    what it says and its raw bytes, kept whole."""

    __tablename__ = "bounces"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound_mail.id", ondelete="CASCADE"), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(32), default="")        # failed, delayed, ... ("" unknown)
    status: Mapped[str] = mapped_column(String(32), default="")        # 5.1.1
    recipient: Mapped[str] = mapped_column(String(320), default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)   # the report as received, on its first row only


# Tables the migrations make outside the ORM: the full-text index of messages (an FTS5 table on SQLite,
# a tsvector table on PostgreSQL), both filled by triggers on ``messages``.
SEARCH_TABLES = frozenset({"message_search"})


def managed_by_orm(name: str) -> bool:
    """False for the search index's tables (and SQLite's FTS5 shadow tables), which no model describes."""
    return not any(name == table or name.startswith(f"{table}_") for table in SEARCH_TABLES)


class ConnectedMailbox(Base):
    """A user's own IMAP mailbox that smartbcc syncs (gateway.sync): where it is, how to sign in (the
    password encrypted with the deployment's mailbox key, gateway.services.secrets), and how its sync goes.

    ``status``: new (not synced yet), syncing, ok, unreachable (the server is down or slow: retried),
    failing (the credentials stopped working: the owner is told once and syncs stop until they reconnect).
    ``sync_requested_at`` asks the running server (`smartbcc serve`) for a sync now; ``owner_active_at``
    is when the owner last opened their mailbox on the web (syncs every ``mailbox_sync_minutes`` while
    they are active)."""

    __tablename__ = "connected_mailboxes"
    __table_args__ = (UniqueConstraint("user_id", "host", "username", name="uq_connected_mailboxes_login"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer)
    security: Mapped[str] = mapped_column(String(16))     # "tls" (implicit, 993) or "starttls" (143)
    username: Mapped[str] = mapped_column(String(320))
    secret: Mapped[str] = mapped_column(Text)              # the password, Fernet-encrypted
    ca_file: Mapped[str] = mapped_column(String(1000), default="")   # a private CA's PEM file; "": the system's
    first_days: Mapped[int] = mapped_column(Integer, default=30)     # the first sync takes this many days back
    status: Mapped[str] = mapped_column(String(16), default="new")
    last_error: Mapped[str] = mapped_column(Text, default="")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    idle: Mapped[bool] = mapped_column(Boolean, default=False)     # the server offers IDLE
    synced_at: Mapped[datetime | None] = mapped_column(default=None)
    sync_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    owner_active_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxFolder(Base):
    """One folder of a connected mailbox: its role (inbox, sent, spam, trash; None for the user's own,
    mirrored as a web mailbox folder, ``folder_id``), its UIDVALIDITY and the last UID fetched."""

    __tablename__ = "mailbox_folders"
    __table_args__ = (UniqueConstraint("mailbox_id", "name", name="uq_mailbox_folders_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("connected_mailboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    folder_id: Mapped[int | None] = mapped_column(ForeignKey("mail_folders.id", ondelete="SET NULL"), default=None)
    uidvalidity: Mapped[int] = mapped_column(BigInteger, default=0)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)


class MailboxCopy(Base):
    """A message on the IMAP server (folder and UID) and the stored message it was filed as, with the
    \\Seen flag as last agreed with the server: a difference on one side is a change made there.
    ``message_pk`` None with ``state`` "filed": the message was deleted in smartbcc (expunged at the next
    sync); "quarantined": filing failed and the message waits in the quarantine."""

    __tablename__ = "mailbox_copies"
    __table_args__ = (UniqueConstraint("folder_pk", "uid", name="uq_mailbox_copies_uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("connected_mailboxes.id", ondelete="CASCADE"), index=True)
    folder_pk: Mapped[int] = mapped_column(ForeignKey("mailbox_folders.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(BigInteger)
    message_pk: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), default=None,
                                                   index=True)
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="filed")


class WebhookEndpoint(Base):
    """A URL of a company's that hears of its events (gateway.services.webhooks): which events it wants,
    and the secret its deliveries are signed with (Fernet-encrypted with the deployment's key, as the
    passwords of connected mailboxes). An inactive endpoint gets no new events; those waiting stay."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list] = mapped_column(JSON, default=list)      # event types (gateway.store.outbox.EVENTS)
    secret: Mapped[str] = mapped_column(Text)                     # the signing secret, Fernet-encrypted
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One event for one endpoint, in the outbox: written in the transaction of what it reports, POSTed
    by `smartbcc serve` until the endpoint answers 2xx (``delivered``) or the attempts run out (``dead``,
    until replayed). ``uid`` is the delivery's id for the receiver (the same on every attempt);
    ``body`` the JSON exactly as it is sent and signed; ``next_attempt_at`` when it is due, or, while
    an attempt is under way, when that attempt's claim lapses."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(16), default="pending")     # pending, delivered, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)   # the last HTTP status
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    dead_at: Mapped[datetime | None] = mapped_column(default=None)

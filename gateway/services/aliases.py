"""Alternate sender addresses: added pending, proven by a confirmation mail (or by an admin's --force),
revoked by an admin. Only verified ones authorize mail (SPEC "Who may send").

The confirmation mail carries a one-time code and a reply address ``<slug>+verify-<token>@<mail_domain>``
(gateway.routing.bcc_address.verify_address); the code's hash and expiry rules are gateway.auth.alternates.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.alternates import alias_status, code_hash, new_code
from gateway.config import Settings
from gateway.locale import _, speaking, when
from gateway.mail.address import normalize_email, validate_mailbox
from gateway.routing.bcc_address import verify_address
from gateway.services.errors import Conflict, NotFound, ServiceError, company_by_slug, user_by_email
from gateway.services.smarthost import OutboundError, send
from gateway.store.database import Database
from gateway.store.models import AlternateAddress, Company, User, utcnow


class VerificationError(ValueError):
    """A code or alias that cannot be verified; the message says why and what to do."""


def status_now(alias: AlternateAddress, now: datetime | None = None) -> str:
    """The alias's standing as of ``now`` (default: this instant): an unconfirmed code may have expired."""
    return alias_status(alias.status, alias.code_expires_at, now or utcnow())


def mark_verified(alias: AlternateAddress) -> None:
    alias.status = "verified"
    alias.verified_at = utcnow()
    alias.code_hash = None
    alias.reply_token = None
    alias.code_expires_at = None


def confirmation_message(settings: Settings, company: Company, user: User, alias: AlternateAddress,
                         code: str, reply_to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"smartbcc <{settings.sender_address}>"
    message["To"] = alias.email
    message["Reply-To"] = reply_to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"
    with speaking(user.language):       # the alternate address is the user's own: their language
        message["Subject"] = _("Confirm {address} as a sender address for {company}").format(
            address=alias.email, company=company.name)
        message.set_content(_(
            "Hello,\n\n{user} asked that mail from {address} be accepted by the\n"
            "{company} Smart Bcc address, filed as theirs.\n\n"
            "To confirm, reply to this message (it goes to {reply_to}),\n"
            "or give this code to your smartbcc admin:\n\n    {code}\n\n"
            "The code works until {expires}. If you did not ask for this, ignore this message:\n"
            "nothing is accepted from {address} until it is confirmed.\n").format(
                user=user.name or user.email, address=alias.email, company=company.name, reply_to=reply_to,
                code=f"{code[:4]}-{code[4:]}", expires=when(alias.code_expires_at, zone=True)))
    return message


@dataclass(frozen=True)
class SentConfirmation:
    alias_id: int
    email: str
    reply_address: str
    expires_at: datetime
    smarthost_reply: str


async def send_confirmation(db: Database, settings: Settings, alias_id: int) -> SentConfirmation:
    """Give the alias a fresh code and reply token, commit them, and mail the confirmation.

    The new code is committed before sending, so a failed send leaves an alias that `alias resend`
    can retry; the error is raised to the caller and nothing claims the mail went out.
    """
    code = new_code()
    async with db.writing() as session, session.begin():
        alias = await session.get(AlternateAddress, alias_id)
        if alias is None:
            raise VerificationError(f"no alternate address with id {alias_id}")
        if alias.status not in ("pending",):
            raise VerificationError(f"{alias.email} is {alias.status}; only pending addresses get a code")
        user = await session.get_one(User, alias.user_id)
        company = await session.get_one(Company, alias.company_id)
        alias.code_hash = code_hash(db.key, code)
        alias.reply_token = secrets.token_hex(8)
        alias.code_expires_at = utcnow() + timedelta(hours=settings.verification_hours)
        alias.sent_count += 1
        reply_to = verify_address(company.slug, alias.reply_token, db.mail_domain)
        message = confirmation_message(settings, company, user, alias, code, reply_to)
    reply = await send(settings, message)
    return SentConfirmation(alias.id, alias.email, reply_to, alias.code_expires_at, reply)


async def verify_code(db: Database, code: str) -> AlternateAddress:
    """Verify the pending alias whose code this is."""
    async with db.writing() as session, session.begin():
        alias = await session.scalar(select(AlternateAddress).where(
            AlternateAddress.code_hash == code_hash(db.key, code)))
        if alias is None or alias.status != "pending":
            raise VerificationError("no pending alternate address has that code: check it, or `alias resend`")
        if status_now(alias) == "expired":
            raise VerificationError(f"the code for {alias.email} has expired: send a new one with "
                                    f"`smartbcc alias resend {alias.email}`")
        mark_verified(alias)
        return alias


@dataclass(frozen=True)
class AliasView:
    id: int
    email: str
    user: str             # the login address of the user it belongs to
    company: str          # the company's slug
    status: str           # pending, expired, verified or revoked
    created_at: datetime
    verified_at: datetime | None
    revoked_at: datetime | None
    code_expires_at: datetime | None
    confirmation: str = ""    # after add/resend: what became of the confirmation mail


async def _view(session: AsyncSession, alias: AlternateAddress) -> AliasView:
    user = await session.get_one(User, alias.user_id)
    company = await session.get_one(Company, alias.company_id)
    return AliasView(alias.id, alias.email, user.email, company.slug, status_now(alias), alias.created_at,
                     alias.verified_at, alias.revoked_at, alias.code_expires_at)


async def _find(session: AsyncSession, email: str, company_slug: str | None) -> AlternateAddress:
    email = normalize_email(email)
    query = select(AlternateAddress).where(AlternateAddress.email == email)
    where = ""
    if company_slug is not None:
        company = await company_by_slug(session, company_slug)
        query, where = query.where(AlternateAddress.company_id == company.id), f" in company {company.slug!r}"
    found = list(await session.scalars(query))
    if not found:
        raise NotFound(f"no alternate address {email}{where} (see `smartbcc alias list`)")
    if len(found) > 1:
        slugs = sorted([(await session.get_one(Company, alias.company_id)).slug for alias in found])
        raise ServiceError(f"{email} is an alternate address in several companies ({', '.join(slugs)}): "
                           "say which with --company SLUG")
    return found[0]


async def add_alias(db: Database, user_email: str, alt_email: str, *, send_mail: bool = True) -> AliasView:
    """Add ``alt_email`` as a pending alternate of the user, then mail it a confirmation code when a
    smarthost is configured. A revoked alternate is added again as pending."""
    alt_email = validate_mailbox(alt_email)
    try:
        view = await _add_pending(db, user_email, alt_email)
    except IntegrityError:
        raise Conflict(f"{alt_email} was just added by someone else; see `smartbcc alias list`") from None
    if not send_mail:
        return replace(view, confirmation="not sent (--no-mail)")
    if not db.settings.smarthost:
        return replace(view, confirmation="not sent: no smarthost is configured (SMARTBCC_SMARTHOST)")
    try:
        sent = await send_confirmation(db, db.settings, view.id)
    except (OutboundError, VerificationError) as error:
        return replace(view, confirmation=f"not sent: {error}")
    return await _after_send(db, sent)


async def _add_pending(db: Database, user_email: str, alt_email: str) -> AliasView:
    async with db.writing() as session, session.begin():
        user = await user_by_email(session, user_email)
        login = await session.scalar(select(User).where(User.email == alt_email))
        if login is not None:
            raise Conflict(f"{alt_email} is the login address of a user; it cannot be an alternate address")
        alias = await session.scalar(select(AlternateAddress).where(
            AlternateAddress.company_id == user.company_id, AlternateAddress.email == alt_email))
        if alias is not None and alias.status != "revoked":
            holder = await session.get_one(User, alias.user_id)
            raise Conflict(f"{alt_email} is already an alternate address of {holder.email} "
                           f"({status_now(alias)}); revoke it first to move it")
        if alias is None:
            alias = AlternateAddress(company_id=user.company_id, user_id=user.id, email=alt_email)
            session.add(alias)
        else:
            alias.user_id, alias.status, alias.created_at = user.id, "pending", utcnow()
            alias.verified_at = alias.revoked_at = alias.code_hash = alias.reply_token = None
            alias.code_expires_at, alias.sent_count = None, 0
        await session.flush()
        return await _view(session, alias)


async def _after_send(db: Database, sent: SentConfirmation) -> AliasView:
    async with db.sessions() as session:
        alias = await session.get_one(AlternateAddress, sent.alias_id)
        view = await _view(session, alias)
    return replace(view, confirmation=f"sent to {sent.email}; replies go to {sent.reply_address}")


async def resend_confirmation(db: Database, alt_email: str, company_slug: str | None = None) -> AliasView:
    """A fresh code and reply address for a pending (or expired) alternate; OutboundError if unsent."""
    async with db.sessions() as session:
        alias = await _find(session, alt_email, company_slug)
    try:
        sent = await send_confirmation(db, db.settings, alias.id)
    except VerificationError as error:
        raise ServiceError(str(error)) from None
    return await _after_send(db, sent)


async def list_aliases(db: Database, company_slug: str | None = None,
                       user_email: str | None = None) -> list[AliasView]:
    async with db.sessions() as session:
        query = select(AlternateAddress).order_by(AlternateAddress.company_id, AlternateAddress.email)
        if company_slug is not None:
            company = await company_by_slug(session, company_slug)
            query = query.where(AlternateAddress.company_id == company.id)
        if user_email is not None:
            user = await user_by_email(session, user_email)
            query = query.where(AlternateAddress.user_id == user.id)
        return [await _view(session, alias) for alias in await session.scalars(query)]


async def revoke_alias(db: Database, alt_email: str, company_slug: str | None = None) -> AliasView:
    """Revoke an alternate address: mail from it no longer counts. Revoking twice changes nothing."""
    async with db.writing() as session, session.begin():
        alias = await _find(session, alt_email, company_slug)
        if alias.status != "revoked":
            alias.status, alias.revoked_at = "revoked", utcnow()
            alias.code_hash = alias.reply_token = alias.code_expires_at = None
        return await _view(session, alias)


async def force_verify_alias(db: Database, alt_email: str, company_slug: str | None = None) -> AliasView:
    """The admin override: verified now, without a code."""
    async with db.writing() as session, session.begin():
        alias = await _find(session, alt_email, company_slug)
        if alias.status == "revoked":
            raise ServiceError(f"{alias.email} was revoked; add it again with `smartbcc alias add` first")
        if alias.status != "verified":
            mark_verified(alias)
        return await _view(session, alias)


async def verify_alias_code(db: Database, code: str) -> AliasView:
    """Verify the pending alternate whose confirmation mail carried ``code``."""
    try:
        alias = await verify_code(db, code)
    except VerificationError as error:
        raise ServiceError(str(error)) from None
    async with db.sessions() as session:
        return await _view(session, await session.get_one(AlternateAddress, alias.id))

"""Proving an alternate sender address: a confirmation mail with a one-time code and a reply address.

Adding an alternate address sends it a message with a code and a reply address
``<slug>+verify-<token>@<mail_domain>``. The address is verified when someone enters the code
(`smartbcc alias verify CODE`) or when the alternate mailbox replies to that address through the
gateway's own SMTP path. Codes are stored only as keyed hashes and expire; a resend makes a new code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select

from gateway.config import Settings
from gateway.services.smarthost import send
from gateway.store.database import Database
from gateway.store.models import AlternateAddress, Company, User, utcnow

CODE_DIGITS = 8


class VerificationError(ValueError):
    """A code or alias that cannot be verified; the message says why and what to do."""


def alias_status(alias: AlternateAddress, now: datetime | None = None) -> str:
    """pending / verified / expired / revoked: a pending address whose code ran out is expired."""
    if alias.status == "pending" and alias.code_expires_at is not None:
        if (now or utcnow()) >= alias.code_expires_at:
            return "expired"
    return alias.status


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: bytes, code: str) -> str:
    digits = "".join(ch for ch in code if ch.isdigit())
    return hmac.new(key, f"alias-code:{digits}".encode(), hashlib.sha256).hexdigest()


def verify_address(slug: str, token: str, mail_domain: str) -> str:
    return f"{slug}+verify-{token}@{mail_domain}"


def confirmation_message(settings: Settings, company: Company, user: User, alias: AlternateAddress,
                         code: str, reply_to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"smartbcc <{settings.sender_address}>"
    message["To"] = alias.email
    message["Reply-To"] = reply_to
    message["Subject"] = f"Confirm {alias.email} as a sender address for {company.name}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.mail_domain)
    message["Auto-Submitted"] = "auto-generated"
    expires = alias.code_expires_at.strftime("%Y-%m-%d %H:%M UTC") if alias.code_expires_at else ""
    message.set_content(
        f"Hello,\n\n{user.name or user.email} asked that mail from {alias.email} be accepted by the\n"
        f"{company.name} Smart Bcc address, filed as theirs.\n\n"
        f"To confirm, reply to this message (it goes to {reply_to}),\n"
        f"or give this code to your smartbcc admin:\n\n    {code[:4]}-{code[4:]}\n\n"
        f"The code works until {expires}. If you did not ask for this, ignore this message:\n"
        f"nothing is accepted from {alias.email} until it is confirmed.\n")
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
    async with db.sessions() as session, session.begin():
        alias = await session.get(AlternateAddress, alias_id)
        if alias is None:
            raise VerificationError(f"no alternate address with id {alias_id}")
        if alias.status not in ("pending",):
            raise VerificationError(f"{alias.email} is {alias.status}; only pending addresses get a code")
        user = await session.get(User, alias.user_id)
        company = await session.get(Company, alias.company_id)
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
    async with db.sessions() as session, session.begin():
        alias = await session.scalar(select(AlternateAddress).where(
            AlternateAddress.code_hash == code_hash(db.key, code)))
        if alias is None or alias.status != "pending":
            raise VerificationError("no pending alternate address has that code: check it, or `alias resend`")
        if alias_status(alias) == "expired":
            raise VerificationError(f"the code for {alias.email} has expired: send a new one with "
                                    f"`smartbcc alias resend {alias.email}`")
        mark_verified(alias)
        return alias


def mark_verified(alias: AlternateAddress) -> None:
    alias.status = "verified"
    alias.verified_at = utcnow()
    alias.code_hash = None
    alias.reply_token = None
    alias.code_expires_at = None

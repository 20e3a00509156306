"""Signing in to the web mailbox and the JSON API: passwords, one-time codes, sessions, access tokens.

Every secret handed out (session cookie, sign-in code, access token) is random and kept only as a hash,
so a copy of the database signs nobody in. Passwords are argon2 hashes. Failed sign-ins are counted per
login address and per client address over a quarter of an hour; past the bound every attempt (even a
right one) is refused until the window moves on. A user who is deactivated, or signs out everywhere,
loses every session at once; sessions and tokens of an inactive user are refused on every request too.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.locale import N_, _, speaking
from gateway.services import smarthost as outbound
from gateway.mail.address import normalize_email
from gateway.services.errors import NotFound, ServiceError, user_by_email
from gateway.store.database import Database
from gateway.store.models import (
    AccessToken, Company, SignInCode, SignInFailure, User, WebPassword, WebSession, utcnow,
)

WINDOW = timedelta(minutes=15)       # failed sign-ins are counted over this long
CODE_MINUTES = 15                    # a mailed sign-in code is good this long, once
MIN_PASSWORD = 10
_HASHER = PasswordHasher()
_DUMMY: str | None = None    # verified against for unknown addresses (same time); hashed on first use


def _dummy() -> str:
    """The stand-in hash an unknown address is checked against, made once per process when first needed
    (not at import: every `smartbcc` command would pay for a hash it does not use)."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _HASHER.hash("no user has this password")
    return _DUMMY


class SignInRefused(ServiceError):
    """Wrong address, password or code, or an inactive user: one answer for all, revealing nothing."""


class RateLimited(ServiceError):
    """Too many failed sign-ins for this address or from this client; try again later."""


@dataclass(frozen=True)
class SignedIn:
    token: str              # the cookie's value
    csrf: str
    user_id: int
    expires_at: datetime


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    company_id: int
    email: str
    name: str
    company: str            # slug
    csrf: str = ""          # empty for an access token (no cookie, no cross-site request forgery)
    role: str = "member"    # "admin": sees and changes the company's settings (`smartbcc user set-role`)
    language: str | None = None     # their choice of language (gateway.locale); None: the browser's

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class TokenView:
    id: int
    user: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def login(email: str) -> str:
    """A login address as stored (normalized); anything that is not an address stays as typed (and
    matches no user)."""
    try:
        return normalize_email(email.strip())
    except ValueError:
        return email.strip().lower()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def set_password(db: Database, email: str, password: str) -> str:
    """Set (or replace) a user's web password; returns the user's address. Their sessions end."""
    if len(password) < MIN_PASSWORD:
        raise ServiceError(f"the password must be at least {MIN_PASSWORD} characters long")
    hashed = await asyncio.to_thread(_HASHER.hash, password)
    async with db.writing() as session, session.begin():
        user = await user_by_email(session, email)
        row = await session.get(WebPassword, user.id)
        if row is None:
            session.add(WebPassword(user_id=user.id, hash=hashed))
        else:
            row.hash, row.updated_at = hashed, utcnow()
        await end_sessions(session, user.id)
        return user.email


async def end_sessions(session: AsyncSession, user_id: int) -> None:
    """Sign a user out of every browser (inside the caller's transaction)."""
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id))


async def _check_rate(session: AsyncSession, db: Database, keys: dict[str, int]) -> None:
    since = utcnow() - WINDOW
    for key, bound in keys.items():
        failures = await session.scalar(select(func.count()).where(
            SignInFailure.key == key, SignInFailure.at > since))
        if (failures or 0) >= bound:
            raise RateLimited(N_("too many failed sign-ins; wait a quarter of an hour and try again"))


def _rate_keys(db: Database, email: str, client: str) -> dict[str, int]:
    bound = db.settings.web_sign_in_attempts
    return {f"email:{email}"[:330]: bound, f"client:{client}"[:330]: 3 * bound}


async def _failed(db: Database, keys: dict[str, int]) -> SignInRefused:
    async with db.writing() as session, session.begin():
        session.add_all([SignInFailure(key=key) for key in keys])
        await session.execute(delete(SignInFailure).where(SignInFailure.at < utcnow() - 2 * WINDOW))
    return SignInRefused(N_("the address, password or code is not right"))


async def _open_session(session: AsyncSession, db: Database, user: User, keys: dict[str, int]) -> SignedIn:
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(hours=db.settings.web_session_hours)
    session.add(WebSession(token_hash=digest(token), user_id=user.id, csrf=csrf, expires_at=expires))
    await session.execute(delete(SignInFailure).where(SignInFailure.key == next(iter(keys))))
    return SignedIn(token, csrf, user.id, expires)


async def password_sign_in(db: Database, email: str, password: str, client: str) -> SignedIn:
    email = login(email)
    keys = _rate_keys(db, email, client)
    async with db.sessions() as session:
        await _check_rate(session, db, keys)
        user = await session.scalar(select(User).where(User.email == email))
        stored = await session.get(WebPassword, user.id) if user is not None else None
    good = await asyncio.to_thread(_verify, stored.hash if stored else _dummy(), password)
    if not (good and user is not None and stored is not None and user.active):
        raise await _failed(db, keys)
    async with db.writing() as session, session.begin():
        return await _open_session(session, db, user, keys)


def _code_hash(db: Database, code: str) -> str:
    return hmac.new(db.key, b"sign-in:" + code.encode(), hashlib.sha256).hexdigest()


async def request_code(db: Database, email: str, client: str, language: str | None = None) -> None:
    """Mail a one-time code to an active user; says nothing about whether the address is known. The mail
    speaks the user's language, else ``language`` (the browser's that asked)."""
    if not db.settings.smarthost:
        raise ServiceError(N_("sign-in codes by mail need a smarthost (setting smarthost); sign in with a password"))
    email = login(email)
    async with db.sessions() as session:
        await _check_rate(session, db, _rate_keys(db, email, client))
        user = await session.scalar(select(User).where(User.email == email, User.active.is_(True)))
    if user is None:
        return
    code = f"{secrets.randbelow(10**8):08d}"
    async with db.writing() as session, session.begin():
        session.add(SignInCode(user_id=user.id, code_hash=_code_hash(db, code),
                               expires_at=utcnow() + timedelta(minutes=CODE_MINUTES)))
    message = EmailMessage()
    message["To"] = user.email
    with speaking(user.language or language):
        message["Subject"] = _("Your smartbcc sign-in code: {code}").format(code=code)
        message.set_content(_("Your sign-in code is {code}\n\nEnter it on smartbcc's sign-in page within {minutes} "
                              "minutes. It works once.\nIf you did not ask for it, ignore this message.\n")
                            .format(code=code, minutes=CODE_MINUTES))
    await outbound.send(db.settings, message)


async def code_sign_in(db: Database, email: str, code: str, client: str) -> SignedIn:
    email = login(email)
    keys = _rate_keys(db, email, client)
    async with db.writing() as session, session.begin():
        await _check_rate(session, db, keys)
        user = await session.scalar(select(User).where(User.email == email, User.active.is_(True)))
        row = None
        if user is not None:
            row = await session.scalar(select(SignInCode).where(
                SignInCode.user_id == user.id, SignInCode.code_hash == _code_hash(db, code.strip()),
                SignInCode.used_at.is_(None), SignInCode.expires_at > utcnow()))
        if row is not None and user is not None:
            row.used_at = utcnow()
            return await _open_session(session, db, user, keys)
    raise await _failed(db, keys)


async def _who(session: AsyncSession, user_id: int, csrf: str) -> SessionUser | None:
    found = (await session.execute(select(User, Company.slug).join(Company, User.company_id == Company.id)
                                   .where(User.id == user_id, User.active.is_(True)))).first()
    if found is None:
        return None
    user, slug = found
    return SessionUser(user.id, user.company_id, user.email, user.name, slug, csrf, user.role, user.language)


async def session_user(db: Database, token: str) -> SessionUser | None:
    """The signed-in user of a session cookie, or None (unknown, expired, or the user is inactive)."""
    if not token:
        return None
    async with db.sessions() as session:
        row = await session.get(WebSession, digest(token))
        if row is None or row.expires_at <= utcnow():
            return None
        return await _who(session, row.user_id, row.csrf)


async def sign_out(db: Database, token: str, everywhere: bool = False) -> None:
    async with db.writing() as session, session.begin():
        row = await session.get(WebSession, digest(token))
        if row is None:
            return
        if everywhere:
            await end_sessions(session, row.user_id)
        else:
            await session.delete(row)


async def create_token(db: Database, email: str, name: str = "") -> tuple[TokenView, str]:
    """A new personal access token for the JSON API; the secret is shown once and only its hash kept."""
    token = "sbt_" + secrets.token_urlsafe(32)
    async with db.writing() as session, session.begin():
        user = await user_by_email(session, email)
        row = AccessToken(user_id=user.id, name=name.strip()[:200], token_hash=digest(token))
        session.add(row)
        await session.flush()
        return TokenView(row.id, user.email, row.name, row.created_at, None, None), token


async def list_tokens(db: Database, email: str | None = None) -> list[TokenView]:
    async with db.sessions() as session:
        query = select(AccessToken, User.email).join(User, AccessToken.user_id == User.id).order_by(AccessToken.id)
        if email is not None:
            query = query.where(AccessToken.user_id == (await user_by_email(session, email)).id)
        return [TokenView(t.id, address, t.name, t.created_at, t.last_used_at, t.revoked_at)
                for t, address in await session.execute(query)]


async def revoke_token(db: Database, token_id: int) -> TokenView:
    async with db.writing() as session, session.begin():
        row = await session.get(AccessToken, token_id)
        if row is None:
            raise NotFound(f"no access token with id {token_id} (see `smartbcc token list`)")
        row.revoked_at = row.revoked_at or utcnow()
        user = await session.get(User, row.user_id)
        return TokenView(row.id, user.email if user else "", row.name, row.created_at, row.last_used_at,
                         row.revoked_at)


async def token_user(db: Database, token: str) -> SessionUser | None:
    """The user of a bearer token, or None (unknown, revoked, or the user is inactive)."""
    async with db.writing() as session, session.begin():
        row = await session.scalar(select(AccessToken).where(
            AccessToken.token_hash == digest(token), AccessToken.revoked_at.is_(None)))
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            row.last_used_at = now
        return await _who(session, row.user_id, "")

"""What a signed-in user sees and changes of their own on the settings page: the Bcc addresses to use
(the company's, and those of the records they own), their alternate sender addresses (added pending and
confirmed by mail, gateway.services.aliases), auto-linking and default sharing
(gateway.services.preferences).

Every function takes the signed-in viewer: an alternate address of someone else is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from gateway.crm.kinds import NOUNS, RECORD_KINDS, Status
from gateway.services import aliases, preferences
from gateway.services.aliases import AliasView
from gateway.locale import LANGUAGES
from gateway.services.errors import NotFound, ServiceError
from gateway.services.visibility import Viewer
from gateway.store.database import Database
from gateway.store.models import RECORD_MODELS, AlternateAddress, Company, User

RECORDS_SHOWN = 100      # per kind: the newest the user owns


@dataclass(frozen=True)
class RecordAddress:
    kind: str
    noun: str
    id: int
    label: str
    address: str


@dataclass(frozen=True)
class Account:
    email: str
    company_name: str
    company_address: str
    records: tuple[RecordAddress, ...]
    alternates: tuple[AliasView, ...]
    auto_link: bool
    default_visibility: str


def _label(record: Any) -> str:
    return str(getattr(record, "title", None) or getattr(record, "name", None) or getattr(record, "email", "")
               or f"#{record.id}")


async def account(db: Database, viewer: Viewer) -> Account:
    async with db.sessions() as session:
        user = await session.get_one(User, viewer.user_id)
        company = await session.get_one(Company, user.company_id)
        records: list[RecordAddress] = []
        for kind in RECORD_KINDS:
            model: Any = RECORD_MODELS[kind]
            query = select(model).where(model.company_id == company.id, model.owner_user_id == user.id)
            if hasattr(model, "status"):        # a closed deal, lead or project takes no more mail
                query = query.where(model.status == Status.OPEN)
            for record in await session.scalars(query.order_by(model.id.desc()).limit(RECORDS_SHOWN)):
                address = db.record_address(company.slug, company.id, kind, record.id, record.token_version)
                records.append(RecordAddress(kind, NOUNS[kind], record.id, _label(record), address))
        email, name, slug = user.email, company.name, company.slug
        auto_link, visibility = user.auto_link, user.default_visibility
    alternates = [a for a in await aliases.list_aliases(db, slug, email) if a.user == email]
    return Account(email, name, db.company_address(slug), tuple(records), tuple(alternates), auto_link,
                   visibility)


async def add_alternate(db: Database, viewer: Viewer, email: str) -> AliasView:
    """A pending alternate address of the user's; the confirmation mail goes out as `alias add` sends it."""
    async with db.sessions() as session:
        login = (await session.get_one(User, viewer.user_id)).email
    return await aliases.add_alias(db, login, email)


async def _own_alternate(db: Database, viewer: Viewer, alias_id: int) -> tuple[str, str]:
    async with db.sessions() as session:
        alias = await session.get(AlternateAddress, alias_id)
        if alias is None or alias.user_id != viewer.user_id or alias.company_id != viewer.company_id:
            raise NotFound(f"no alternate address with id {alias_id}")
        company = await session.get_one(Company, alias.company_id)
        return alias.email, company.slug


async def revoke_alternate(db: Database, viewer: Viewer, alias_id: int) -> AliasView:
    email, slug = await _own_alternate(db, viewer, alias_id)
    return await aliases.revoke_alias(db, email, slug)


async def resend_alternate(db: Database, viewer: Viewer, alias_id: int) -> AliasView:
    """A fresh confirmation mail for a pending or expired alternate address of the user's."""
    email, slug = await _own_alternate(db, viewer, alias_id)
    return await aliases.resend_confirmation(db, email, slug)


async def set_preferences(db: Database, viewer: Viewer, *, auto_link: bool,
                          default_visibility: str) -> preferences.UserSettings:
    async with db.sessions() as session:
        login = (await session.get_one(User, viewer.user_id)).email
    return await preferences.set_user(db, login, auto_link=auto_link, default_visibility=default_visibility)


async def set_language(db: Database, viewer: Viewer, language: str) -> str | None:
    """The user's language for pages and mail: one of LANGUAGES, or "" for the browser's (English in mail)."""
    if language and language not in LANGUAGES:
        raise ServiceError(f"the language is one of {', '.join(LANGUAGES)} (or empty: the browser's), "
                           f"not {language!r}")
    async with db.writing() as session, session.begin():
        user = await session.get_one(User, viewer.user_id)
        user.language = language or None
        return user.language

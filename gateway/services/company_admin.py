"""The company's settings as its admins change them on the web: CRM mode, the never-log list (excluded
addresses and domains), users. The same operations as the CLI's (gateway.services.preferences, users),
bound to the signed-in user's company and allowed to its admins only (``users.role``, `smartbcc user
set-role`): for anyone else they do not exist (NotFound, a 404 on the web).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from gateway.services import preferences, users
from gateway.services.errors import NotFound, ServiceError
from gateway.services.preferences import CompanySettings
from gateway.services.users import UserView
from gateway.services.visibility import Viewer
from gateway.store.database import Database
from gateway.store.models import Company, User


@dataclass(frozen=True)
class CompanyAdmin:
    name: str
    settings: CompanySettings
    users: tuple[UserView, ...]


async def admin_company(db: Database, viewer: Viewer) -> str:
    """The slug of the company ``viewer`` is an active admin of; NotFound for anyone else."""
    async with db.sessions() as session:
        found = (await session.execute(select(User.role, User.active, Company.slug)
                                       .join(Company, Company.id == User.company_id)
                                       .where(User.id == viewer.user_id, User.company_id == viewer.company_id))).first()
    if found is None or found.role != "admin" or not found.active:
        raise NotFound("no such page")
    return str(found.slug)


async def overview(db: Database, viewer: Viewer) -> CompanyAdmin:
    slug = await admin_company(db, viewer)
    settings = await preferences.company_settings(db, slug)
    async with db.sessions() as session:
        name = (await session.get_one(Company, viewer.company_id)).name
    return CompanyAdmin(name, settings, tuple(await users.list_users(db, slug)))


async def set_crm_mode(db: Database, viewer: Viewer, crm_mode: str, classic_creates: str | None) -> CompanySettings:
    """Classic -> simple converts the active leads into deals with the defaults (gateway.crm.conversion)."""
    return await preferences.set_company(db, await admin_company(db, viewer), crm_mode=crm_mode,
                                         classic_creates=classic_creates)


async def add_exclusion(db: Database, viewer: Viewer, value: str) -> CompanySettings:
    return await preferences.add_exclusion(db, await admin_company(db, viewer), value)


async def remove_exclusion(db: Database, viewer: Viewer, value: str) -> CompanySettings:
    return await preferences.remove_exclusion(db, await admin_company(db, viewer), value)


async def add_user(db: Database, viewer: Viewer, email: str, name: str) -> UserView:
    return await users.add_user(db, email, await admin_company(db, viewer), name)


async def set_active(db: Database, viewer: Viewer, user_id: int, active: bool) -> UserView:
    """Deactivate (or activate again) a user of the admin's company; their sessions end at once."""
    await admin_company(db, viewer)
    if user_id == viewer.user_id:
        raise ServiceError("you cannot deactivate yourself; ask another admin")
    async with db.sessions() as session:
        user = await session.get(User, user_id)
        if user is None or user.company_id != viewer.company_id:
            raise NotFound(f"no user with id {user_id}")
        email = user.email
    return await users.set_user_active(db, email, active)

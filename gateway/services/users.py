"""Users: the salespeople of a company, known by their login address (unique in the deployment)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.mail.address import validate_mailbox
from gateway.crm.kinds import ROLES  # noqa: F401 (re-exported)
from gateway.services.errors import Conflict, ServiceError, company_by_slug, user_by_email
from gateway.store.database import Database
from gateway.store.models import AlternateAddress, Company, User


@dataclass(frozen=True)
class UserView:
    id: int
    email: str
    name: str
    company: str          # the company's slug
    active: bool
    auto_link: bool
    default_visibility: str
    created_at: datetime
    role: str = "member"


def user_view(user: User, company: Company) -> UserView:
    return UserView(user.id, user.email, user.name, company.slug, user.active, user.auto_link,
                    user.default_visibility, user.created_at, user.role)


async def add_user(db: Database, email: str, company_slug: str, name: str = "") -> UserView:
    email = validate_mailbox(email)
    try:
        async with db.writing() as session, session.begin():
            company = await company_by_slug(session, company_slug)
            existing = await session.scalar(select(User).where(User.email == email))
            if existing is not None:
                owner = await session.get_one(Company, existing.company_id)
                raise Conflict(f"{email} is already a user of company {owner.slug!r}; "
                               "a login address can belong to one user only")
            alternate = await session.scalar(select(AlternateAddress).where(
                AlternateAddress.email == email, AlternateAddress.status != "revoked"))
            if alternate is not None:
                holder = await session.get_one(User, alternate.user_id)
                raise Conflict(f"{email} is an alternate address of {holder.email}; revoke it first "
                               f"(`smartbcc alias revoke {email}`) to make it a login")
            user = User(company_id=company.id, email=email, name=name.strip())
            session.add(user)
    except IntegrityError:
        raise Conflict(f"{email} was just added by someone else; see `smartbcc user list`") from None
    return user_view(user, company)


async def list_users(db: Database, company_slug: str | None = None) -> list[UserView]:
    async with db.sessions() as session:
        query = select(User, Company).join(Company, User.company_id == Company.id)
        if company_slug is not None:
            company = await company_by_slug(session, company_slug)
            query = query.where(User.company_id == company.id)
        rows = await session.execute(query.order_by(Company.slug, User.email))
        return [user_view(user, company) for user, company in rows]


async def set_user_active(db: Database, email: str, active: bool) -> UserView:
    """Activate or deactivate a user; an inactive user's mail is refused and their web sessions end,
    their records stay."""
    from gateway.services.web_auth import end_sessions   # argon2 and the smarthost: not for `user list`

    async with db.writing() as session, session.begin():
        user = await user_by_email(session, email)
        user.active = active
        if not active:
            await end_sessions(session, user.id)      # signed out of the web mailbox at once
        company = await session.get_one(Company, user.company_id)
        return user_view(user, company)


async def set_role(db: Database, email: str, role: str) -> UserView:
    """Make a user an admin of their company (the company's settings on the web) or a member again."""
    if role not in ROLES:
        raise ServiceError(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    async with db.writing() as session, session.begin():
        user = await user_by_email(session, email)
        user.role = role
        company = await session.get_one(Company, user.company_id)
        return user_view(user, company)

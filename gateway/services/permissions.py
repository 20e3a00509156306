"""Access rights per user and kind of CRM record: view and edit, each none / own / all.

A user without a row for a kind has all / all: a new install works for everyone until an admin
narrows it. "own" means the records the user owns (``owner_user_id``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.recipients import LEVELS, SENDING_KINDS
from gateway.services.errors import ServiceError, user_by_email
from gateway.store.database import Database
from gateway.store.models import Permission

DEFAULT = ("all", "all")


@dataclass(frozen=True)
class Rights:
    kind: str
    view: str
    edit: str
    default: bool = False       # no row: the default all / all


@dataclass(frozen=True)
class UserRights:
    email: str
    rights: tuple[Rights, ...]


async def rights_of(session: AsyncSession, user_id: int) -> dict[str, Rights]:
    rows = {p.kind: p for p in await session.scalars(select(Permission).where(Permission.user_id == user_id))}
    return {kind: Rights(kind, rows[kind].view, rows[kind].edit) if kind in rows else Rights(kind, *DEFAULT, True)
            for kind in SENDING_KINDS}


def _kinds(kind: str) -> tuple[str, ...]:
    if kind == "all":
        return SENDING_KINDS
    if kind not in SENDING_KINDS:
        raise ServiceError(f"the kind of record is one of {', '.join(SENDING_KINDS)} or all, not {kind!r}")
    return (kind,)


async def list_rights(db: Database, email: str) -> UserRights:
    async with db.sessions() as session:
        user = await user_by_email(session, email)
        return UserRights(user.email, tuple((await rights_of(session, user.id)).values()))


async def set_rights(db: Database, email: str, kind: str, *, view: str | None = None,
                     edit: str | None = None) -> UserRights:
    """Change a user's view and/or edit right on one kind of record (or on ``all`` kinds)."""
    for value, what in ((view, "--view"), (edit, "--edit")):
        if value is not None and value not in LEVELS:
            raise ServiceError(f"{what} is one of {', '.join(LEVELS)}, not {value!r}")
    if view is None and edit is None:
        raise ServiceError("say what changes: --view and/or --edit (none, own or all)")
    kinds = _kinds(kind)
    async with db.writing() as session, session.begin():
        user = await user_by_email(session, email)
        rows = {p.kind: p for p in await session.scalars(select(Permission).where(Permission.user_id == user.id))}
        for each in kinds:
            row = rows.get(each)
            if row is None:
                row = Permission(user_id=user.id, kind=each, view=DEFAULT[0], edit=DEFAULT[1])
                session.add(row)
            row.view = view or row.view
            row.edit = edit or row.edit
    return await list_rights(db, email)

"""Who may see which message, as SQL conditions: the one place the web mailbox and its API ask.

A message is seen by its owner; a shared one also by colleagues of the same company who have view rights
(``smartbcc permission set``) on at least one record it is linked to. A private message, another
company's message, or a message the user emptied from their Trash does not exist for anyone else: every
read goes through :func:`seen_by`, and callers answer "not found" for what it leaves out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.crm.recipients import permitted
from gateway.services.permissions import Rights, rights_of
from gateway.store.models import RECORD_MODELS, Link, Message


class Viewer(Protocol):
    @property
    def user_id(self) -> int: ...
    @property
    def company_id(self) -> int: ...


@dataclass(frozen=True)
class Sight:
    """A user and their view and edit rights per kind of record, read once per request."""

    user_id: int
    company_id: int
    rights: dict[str, Rights]

    def may_view(self, kind: str, owner_user_id: int | None) -> bool:
        right = self.rights.get(kind)
        return right is not None and permitted(right.view, owner_user_id, self.user_id)

    def may_edit(self, kind: str, owner_user_id: int | None) -> bool:
        right = self.rights.get(kind)
        return right is not None and permitted(right.edit, owner_user_id, self.user_id)


async def sight(session: AsyncSession, viewer: Viewer) -> Sight:
    return Sight(viewer.user_id, viewer.company_id, await rights_of(session, viewer.user_id))


def own(who: Sight) -> ColumnElement[bool]:
    return and_(Message.owner_user_id == who.user_id, Message.company_id == who.company_id)


def shared_with(who: Sight) -> ColumnElement[bool]:
    """A colleague's shared message linked to a record ``who`` may view."""
    anywhere = [kind for kind, right in who.rights.items() if right.view == "all"]
    clauses: list[ColumnElement[bool]] = []
    if anywhere:
        clauses.append(exists().where(Link.message_pk == Message.id, Link.kind.in_(anywhere)))
    for kind, right in who.rights.items():
        if right.view == "own":
            model: Any = RECORD_MODELS[kind]
            clauses.append(exists(select(Link.id).join(model, model.id == Link.record_id).where(
                Link.message_pk == Message.id, Link.kind == kind, model.owner_user_id == who.user_id)))
    if not clauses:
        return false()
    return and_(Message.company_id == who.company_id, Message.visibility == "shared",
                Message.owner_user_id != who.user_id, or_(*clauses))


def seen_by(who: Sight) -> ColumnElement[bool]:
    return or_(own(who), shared_with(who))

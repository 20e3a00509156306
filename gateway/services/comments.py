"""Discussing a message with colleagues ("Discuss"): comments shown on the message's page.

A comment is seen by exactly whoever may see its message (gateway.services.visibility), since it is read
only through the message. ``@`` followed by a colleague's address, name or the part of their address
before the ``@`` mentions them: they get a notification, unless they may not see the message, in which
case nothing happens and the author is told nothing about it either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gateway.crm.kinds import NotificationKind
from gateway.services.errors import NotFound, ServiceError
from gateway.services.mailbox import visible
from gateway.services.notifications import notify
from gateway.services.visibility import Viewer, sight
from gateway.store.database import Database
from gateway.store.models import Comment, Message, User, utcnow

BODY_LIMIT = 5000


@dataclass(frozen=True)
class CommentView:
    id: int
    author: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class _Mentionable:
    user_id: int
    company_id: int


def mentions(text: str, colleagues: list[User]) -> list[User]:
    """The colleagues ``text`` mentions: ``@`` and their address, their name, or their address's local part
    (case does not matter; a longer match is not also a shorter one's)."""
    lowered = text.lower()
    found = []
    for user in colleagues:
        handles = {user.email.lower(), user.email.lower().split("@")[0]}
        if user.name.strip():
            handles.add(" ".join(user.name.lower().split()))
        if any(re.search(r"(?<![\w.@])@" + re.escape(handle) + r"(?![\w@-]|\.\w)", lowered) for handle in handles):
            found.append(user)
    return found


async def comments_on(db: Database, viewer: Viewer, message_pk: int) -> list[CommentView]:
    """The discussion of a message the user may see (NotFound otherwise), oldest first."""
    async with db.sessions() as session:
        who = await sight(session, viewer)
        await visible(session, who, [message_pk])
        rows = (await session.execute(
            select(Comment, User).join(User, User.id == Comment.author_user_id)
            .where(Comment.message_pk == message_pk).order_by(Comment.id))).all()
        return [CommentView(c.id, u.name or u.email, c.body, c.created_at) for c, u in rows]


async def add_comment(db: Database, viewer: Viewer, message_pk: int, body: str) -> CommentView:
    """Add a comment to a message the user may see, and notify the colleagues it mentions who may see it."""
    body = body.strip()
    if not body:
        raise ServiceError("write something to say")
    if len(body) > BODY_LIMIT:
        raise ServiceError(f"a comment has at most {BODY_LIMIT} characters")
    async with db.writing() as session, session.begin():
        who = await sight(session, viewer)
        await visible(session, who, [message_pk])
        message = await session.get_one(Message, message_pk)
        author = await session.get_one(User, who.user_id)
        comment = Comment(company_id=who.company_id, message_pk=message_pk, author_user_id=who.user_id, body=body,
                          created_at=utcnow())
        session.add(comment)
        await session.flush()
        colleagues = list(await session.scalars(select(User).where(
            User.company_id == who.company_id, User.active.is_(True), User.id != who.user_id)))
        for user in mentions(body, colleagues):
            their = await sight(session, _Mentionable(user.id, user.company_id))
            try:
                await visible(session, their, [message_pk])       # sees it, and has not emptied it from Trash
            except NotFound:
                continue
            await notify(session, company_id=who.company_id, user_id=user.id, kind=NotificationKind.MENTION,
                         text=f"{author.name or author.email} mentioned you on \"{message.subject or '(no subject)'}\": "
                              f"{body}", message_pk=message_pk)
        return CommentView(comment.id, author.name or author.email, comment.body, comment.created_at)

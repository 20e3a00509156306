"""Notifications on the real database: added in the caller's transaction, counted unread, hidden while
the message they are about is not visible to their user, marked read only by their own user."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select, update

from gateway.crm.kinds import NotificationKind
from gateway.services import notifications
from gateway.store.models import Message, User
from tests.support.gwtest import seed, with_db


def _message(session, company_id: int, owner: int, visibility: str, n: int) -> Message:
    row = Message(company_id=company_id, owner_user_id=owner, visibility=visibility, message_id=f"<{n}@x>",
                  content_hash=f"{n}" * 64, sha256="s" * 64, size=1, received_at=datetime.now(timezone.utc))
    session.add(row)
    return row


def test_counted_until_read_and_only_while_the_message_is_visible(settings):
    planted = seed(settings)

    async def work(db):
        async with db.sessions() as session, session.begin():
            other = User(company_id=planted.company_id, email="cy@acme.example")
            session.add(other)
            mine = _message(session, planted.company_id, planted.user_id, "private", 1)
            theirs = _message(session, planted.company_id, planted.user_id, "private", 2)
            await session.flush()
            await notifications.notify(session, company_id=planted.company_id, user_id=planted.user_id,
                                       kind=NotificationKind.BOUNCE, text="bounced", message_pk=mine.id)
            await notifications.notify(session, company_id=planted.company_id, user_id=planted.user_id,
                                       kind=NotificationKind.OVERDUE, text="call back")
            # about a message cy may not see: never shown to cy
            await notifications.notify(session, company_id=planted.company_id, user_id=other.id,
                                       kind=NotificationKind.MENTION, text="see this", message_pk=theirs.id)
            other_id = other.id
        assert await notifications.unread_count(db, planted.user_id) == 2
        assert await notifications.unread_count(db, other_id) == 0
        assert [n.kind for n in await notifications.recent(db, planted.user_id)] == ["overdue", "bounce"]
        # another user's ids change nothing
        first = (await notifications.recent(db, planted.user_id))[0].id
        assert await notifications.mark_read(db, other_id, [first]) == 0
        assert await notifications.mark_read(db, planted.user_id, [first]) == 1
        assert await notifications.unread_count(db, planted.user_id) == 1
        # the message moves out of sight (another owner, private): its notification goes with it
        async with db.sessions() as session, session.begin():
            await session.execute(update(Message).where(Message.id != 0).values(owner_user_id=other_id))
        assert await notifications.unread_count(db, planted.user_id) == 0
        async with db.sessions() as session:
            assert (await session.scalar(select(User.role).where(User.id == planted.user_id))) == "member"
    with_db(settings, work)


def test_a_notification_about_a_record_goes_with_the_right_to_view_it(settings):
    from gateway.services.permissions import set_rights
    from gateway.store.models import Deal

    planted = seed(settings)

    async def work(db):
        async with db.sessions() as session, session.begin():
            await notifications.notify(session, company_id=planted.company_id, user_id=planted.user_id,
                                       kind=NotificationKind.OVERDUE, text="call Bob", record_kind="deal",
                                       record_id=planted.deal_id)
        assert await notifications.unread_count(db, planted.user_id) == 1
        await set_rights(db, "ada@acme.example", "deal", view="own")          # the deal is nobody's
        assert await notifications.unread_count(db, planted.user_id) == 0
        assert await notifications.recent(db, planted.user_id) == []
        async with db.sessions() as session, session.begin():
            (await session.get(Deal, planted.deal_id)).owner_user_id = planted.user_id
        assert await notifications.unread_count(db, planted.user_id) == 1     # hers now: shown again
        await set_rights(db, "ada@acme.example", "deal", view="none")
        assert await notifications.unread_count(db, planted.user_id) == 0
    with_db(settings, work)

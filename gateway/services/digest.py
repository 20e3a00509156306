"""The daily digest: one mail through the smarthost to each user who asked for it, listing their unread
notifications that no digest carried yet (each notification is mailed once: ``notifications.mailed_at``).

The running gateway sends it once a day (:func:`due_for_digest`), ``smartbcc notifications digest`` on
demand. A user chooses it on the settings page or with ``smartbcc notifications set-digest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select, update

from gateway.config import Settings
from gateway.locale import _, ngettext, speaking, when
from gateway.services.errors import user_by_email
from gateway.services.notifications import NotificationView, shown_to, user_sight, view
from gateway.services.smarthost import OutboundError, send
from gateway.store.database import Database
from gateway.store.models import Notification, User, utcnow

LIMIT = 200                # notifications in one digest; the rest wait for the next


@dataclass(frozen=True)
class DigestSent:
    email: str
    notifications: int


async def set_digest(db: Database, email: str, on: bool) -> bool:
    async with db.writing() as session, session.begin():
        user = await user_by_email(session, email)
        user.digest = on
        return on


async def digest_choice(db: Database, user_id: int) -> bool:
    async with db.sessions() as session:
        user = await session.get(User, user_id)
        return bool(user and user.digest)


async def set_own_digest(db: Database, user_id: int, on: bool) -> None:
    async with db.writing() as session, session.begin():
        user = await session.get_one(User, user_id)
        user.digest = on


def _message(settings: Settings, to: str, notes: list[NotificationView]) -> EmailMessage:
    """The digest mail, in the language the caller speaks (its recipient's)."""
    mail = EmailMessage()
    mail["From"] = settings.sender_address
    mail["To"] = to
    mail["Subject"] = ngettext("smartbcc: {count} new notification", "smartbcc: {count} new notifications",
                               len(notes)).format(count=len(notes))
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(_("What happened since your last digest (open the web app to act on it):") + "\n\n"
                     + "\n".join(_line(n.created_at, n.text) for n in notes) + "\n\n"
                     + _("To stop these mails, untick the daily digest in your settings.") + "\n")
    return mail


def _line(created_at: datetime, text: str) -> str:
    one_line = " ".join(text.split())
    return f"- {when(created_at, zone=True)}  {one_line}"


class DigestsNotSent(OutboundError):
    """Some digests could not be mailed (their notifications wait for the next digest); the others were."""

    def __init__(self, sent: list[DigestSent], failed: list[tuple[str, Exception]]) -> None:
        self.sent, self.failed = sent, failed
        first, error = failed[0]
        super().__init__(f"mailed {len(sent)} digest(s); could not mail {len(failed)} (first: {first}: {error}); "
                         "their notifications go in the next digest")


async def send_digests(db: Database, settings: Settings, now: datetime | None = None,
                       only_due: bool = False) -> list[DigestSent]:
    """Mail each user who chose the digest their unread, not yet mailed notifications (users with none get
    no mail). ``only_due``: only users who got no digest yet today (UTC) — the gateway's daily run."""
    now = now or utcnow()
    async with db.sessions() as session:
        users = list(await session.scalars(select(User).where(User.digest.is_(True), User.active.is_(True))
                                           .order_by(User.id)))
    sent: list[DigestSent] = []
    failed: list[tuple[str, Exception]] = []
    for user in users:
        if only_due and user.digest_at is not None and user.digest_at.date() >= now.date():
            continue
        rows = await _claim(db, user.id, now)
        if rows:
            try:
                with speaking(user.language):
                    mail = _message(settings, user.email, rows)
                await send(settings, mail)
            except Exception as error:      # not mailed after all: the next digest carries them
                async with db.writing() as session, session.begin():
                    await session.execute(update(Notification).where(Notification.id.in_([n.id for n in rows]))
                                          .values(mailed_at=None))
                failed.append((user.email, error))
                continue                    # the others still get theirs
            sent.append(DigestSent(user.email, len(rows)))
        async with db.writing() as session, session.begin():
            await session.execute(update(User).where(User.id == user.id).values(digest_at=now))
    if failed:
        raise DigestsNotSent(sent, failed)
    return sent


async def _claim(db: Database, user_id: int, now: datetime) -> list[NotificationView]:
    """The user's unread notifications no digest carried yet, marked mailed at ``now`` before the mail
    leaves: two digests running at once (the gateway's and the command's) never mail one twice."""
    async with db.writing() as session, session.begin():
        who = await user_sight(session, user_id)
        if who is None:
            return []
        ids = list(await session.scalars(
            select(Notification.id).where(shown_to(who), Notification.read_at.is_(None),
                                          Notification.mailed_at.is_(None))
            .order_by(Notification.id).limit(LIMIT)))
        if not ids:
            return []
        await session.execute(update(Notification).where(Notification.id.in_(ids), Notification.mailed_at.is_(None))
                              .values(mailed_at=now))
    async with db.sessions() as session:
        return [view(n) for n in await session.scalars(
            select(Notification).where(Notification.id.in_(ids), Notification.mailed_at == now)
            .order_by(Notification.id))]


def due_for_digest(settings: Settings, now: datetime) -> bool:
    """The gateway mails the day's digests from ``digest_hour`` (UTC) on."""
    return now.hour >= settings.digest_hour

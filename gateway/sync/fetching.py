"""New mail: fetched a few messages at a time, oldest first, each filed through the intake, then its copy,
its state in the owner's mailbox and the folder's last UID noted together."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from imapclient import SEEN, IMAPClient
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from gateway.auth.senders import Authorization
from gateway.auth.verdicts import Judgement
from gateway.store.database import Database
from gateway.store.filing import Delivery
from gateway.store.models import ConnectedMailbox, MailboxCopy, MailboxFolder
from gateway.sync.common import CHUNK, NOT_FILED, Box, Deferred, Report, call, log, place, set_entry
from gateway.sync.intake import Intake

async def fetch_new(db: Database, intake: Intake, box: Box, client: IMAPClient, row: MailboxFolder,
                    report: Report, window: bool) -> None:
    criteria: list[Any] = ["UID", f"{row.last_uid + 1}:*"]
    if window:                  # the folder's first pass: the last days only
        criteria += ["SINCE", date.today() - timedelta(days=box.first_days)]
    uids = sorted(int(uid) for uid in await call(client.search, criteria) if int(uid) > row.last_uid)
    if not uids:
        return
    await _progress(db, box.id, total=len(uids))
    for start in range(0, len(uids), CHUNK):
        part = uids[start:start + CHUNK]
        fetched = await call(client.fetch, part, ["BODY.PEEK[]", "FLAGS"])
        for uid in part:
            data = fetched.get(uid)
            if data is None:                 # expunged meanwhile
                continue
            await _keep(db, intake, box, row, uid, data.get(b"BODY[]") or b"", SEEN in data.get(b"FLAGS", ()))
            report.fetched += 1
            row.last_uid = uid


async def _progress(db: Database, mailbox_id: int, total: int) -> None:
    async with db.writing() as session, session.begin():
        await session.execute(update(ConnectedMailbox).where(ConnectedMailbox.id == mailbox_id)
                              .values(progress_total=ConnectedMailbox.progress_total + total))


async def _keep(db: Database, intake: Intake, box: Box, row: MailboxFolder, uid: int, raw: bytes,
                seen: bool) -> None:
    """File one fetched message, then note its copy, its state in the owner's mailbox and the folder's last
    UID together."""
    message_pk: int | None = None
    state = "filed"
    if len(raw) > intake.settings.max_message_size:
        state = "too_large"
        log.warning("mailbox %d: %s UID %d is %d bytes, over max_message_size; not filed", box.id, row.name,
                    uid, len(raw))
    else:
        parsed = await intake.parse(raw)
        delivery = Delivery(
            company_id=box.company_id, raw=raw, parsed=parsed,
            authorization=Authorization(True, box.user_id, box.user_email, "mailbox",
                                        f"synced from the connected mailbox {box.id}"),
            envelope_from="", envelope_rcpts=(), addressed=(), client_address=f"imap:{box.account.host}"[:64],
            antispoof=Judgement("accept", "mailbox", f"synced by IMAP from {box.account.host} ({row.name})"),
            sent_folder=row.role == "sent", create_records=False,
            link_records=box.autofile and row.role not in NOT_FILED, by_message_id=True)
        outcome = await intake.file(delivery)
        if outcome.stored is not None:
            message_pk = outcome.stored.message_pk
        elif outcome.quarantined is not None:
            state = "quarantined"
        else:
            raise Deferred(f"filing is unavailable ({outcome.reply}); the sync resumes later")
    try:
        async with db.writing() as session, session.begin():
            session.add(MailboxCopy(mailbox_id=box.id, folder_pk=row.id, uid=uid, message_pk=message_pk,
                                    seen=seen, state=state))
            await session.execute(update(MailboxFolder).where(MailboxFolder.id == row.id,
                                                              MailboxFolder.last_uid < uid).values(last_uid=uid))
            await session.execute(update(ConnectedMailbox).where(ConnectedMailbox.id == box.id)
                                  .values(progress_done=ConnectedMailbox.progress_done + 1))
            if message_pk is not None:
                await set_entry(session, box.user_id, message_pk, read=seen, place=place(row))
    except IntegrityError:      # another sync of this mailbox noted it first
        log.info("mailbox %d: %s UID %d was noted by another sync", box.id, row.name, uid)
    await asyncio.sleep(0)       # let the SMTP side's sessions run between two messages

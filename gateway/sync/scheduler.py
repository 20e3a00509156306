"""When a connected mailbox is synced, in `smartbcc serve`: Bitrix24's cadence (seed 002), and IDLE.

A mailbox is synced when it is new (its first sync, in the background, its progress on the mailbox's
row; resumed after a restart); when someone asked (the Sync button, `smartbcc mailbox sync --request`,
the owner opening their web mailbox: ``sync_requested_at``); every ``mailbox_sync_minutes`` while its
owner is active on the web; at once when its server says over IDLE that something changed in INBOX;
and, after its server could not be reached, again a minute later. A mailbox whose credentials stopped working waits until it is
connected again. At most ``mailbox_syncs`` syncs run at once, each a task of its own; their IMAP calls run
in threads, so the SMTP server on the same event loop never waits for them.

IDLE: one thread per mailbox whose server offers it keeps a session in IDLE on INBOX and wakes the
scheduler when the server reports a change.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import timedelta
from typing import Callable

from sqlalchemy import select

from gateway.config import Settings
from gateway.imap import Account, LoginRefused, close, open_session
from gateway.services.secrets import unseal
from gateway.store.database import Database
from gateway.store.models import ConnectedMailbox, utcnow
from gateway.sync.engine import sync_mailbox
from gateway.sync.intake import Intake

log = logging.getLogger("smartbcc.mailboxes")
POLL = 2.0                   # seconds between two looks at the mailboxes' rows
RETRY = 60.0                 # seconds before a mailbox whose server was unreachable is tried again
IDLE_RENEW = 25 * 60         # seconds an IDLE lasts before it is renewed (servers end it after 30 minutes)


class Idler:
    """A thread that keeps one IMAP session in IDLE on INBOX and calls ``changed`` on each change."""

    def __init__(self, account: Account, changed: Callable[[], None]) -> None:
        self.account = account
        self.changed = changed
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"idle {account.username}@{account.host}",
                                       daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _run(self) -> None:
        pause = 1.0
        while not self.stopping.is_set():
            try:
                self._idle()
                pause = 1.0
            except LoginRefused:
                self.changed()       # the sync marks the mailbox and tells its owner
                return
            except Exception as error:   # noqa: BLE001 - down, dropped, slow: try again, a little later each time
                log.info("IDLE on %r stopped (%s); again in %g s", self.account, error, pause)
                self.changed()       # a sync notes the failure (and catches up once the server is back)
            self.stopping.wait(pause)
            pause = min(pause * 2, RETRY)

    def _idle(self) -> None:
        client = open_session(self.account)
        try:
            client.select_folder("INBOX", readonly=True)
            client.idle()
            renewed = time.monotonic()
            while not self.stopping.is_set():
                if client.idle_check(timeout=1.0):
                    self.changed()
                if time.monotonic() - renewed > IDLE_RENEW:
                    client.idle_done()
                    client.idle()
                    renewed = time.monotonic()
            client.idle_done()
        finally:
            close(client)


class Scheduler:
    """Runs the syncs of every connected mailbox of the deployment, as tasks beside the SMTP server."""

    def __init__(self, db: Database, settings: Settings, intake: Intake) -> None:
        self.db = db
        self.settings = settings
        self.intake = intake
        self.running: dict[int, asyncio.Task[None]] = {}
        self.idlers: dict[int, Idler] = {}
        self.signalled: set[int] = set()
        self.failed_at: dict[int, float] = {}
        self.wake = asyncio.Event()
        self.slots = asyncio.Semaphore(settings.mailbox_syncs)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop looking, cancel the syncs under way (a message being filed is filed: the filer shields it;
        its copy is noted at the next sync, by dedup) and end the IDLE threads."""
        tasks = [t for t in [self._task, *self.running.values()] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        idlers, self.idlers = list(self.idlers.values()), {}
        for idler in idlers:
            idler.stop()
        for idler in idlers:          # each notices within a second (its idle_check)
            await asyncio.to_thread(idler.thread.join, 5)

    async def _run(self) -> None:
        while True:
            try:
                await self._tick()
            except asyncio.CancelledError:
                raise
            except Exception as error:      # the database is down, say: look again later
                log.warning("could not look at the connected mailboxes (%r)", error)
            try:
                await asyncio.wait_for(self.wake.wait(), POLL)
            except TimeoutError:
                pass
            self.wake.clear()

    def _changed(self, mailbox_id: int) -> Callable[[], None]:
        loop = asyncio.get_running_loop()

        def changed() -> None:         # called in an IDLE thread
            try:
                loop.call_soon_threadsafe(self._signal, mailbox_id)
            except RuntimeError:       # the loop closed: the server stopped
                pass
        return changed

    def _signal(self, mailbox_id: int) -> None:
        self.signalled.add(mailbox_id)
        self.wake.set()

    async def _tick(self) -> None:
        async with self.db.sessions() as session:
            boxes = list(await session.scalars(select(ConnectedMailbox)))
            for box in boxes:
                session.expunge(box)
        now = utcnow()
        every = timedelta(minutes=self.settings.mailbox_sync_minutes)
        present = {box.id for box in boxes}
        for gone in set(self.idlers) - present:
            self.idlers.pop(gone).stop()
        for box in boxes:
            self._keep_idling(box)
            if box.id in self.running:
                continue
            active = box.owner_active_at is not None and now - box.owner_active_at < every
            due = (box.status in ("new", "syncing")      # new, or cut short by a process that stopped
                   or box.sync_requested_at is not None
                   or (box.id in self.signalled and box.status != "failing")
                   or (box.status == "unreachable" and time.monotonic() - self.failed_at.get(box.id, 0) > RETRY)
                   or (active and box.status != "failing" and (box.synced_at is None or now - box.synced_at >= every)))
            if due:
                self.signalled.discard(box.id)
                self.running[box.id] = asyncio.get_running_loop().create_task(self._sync(box.id))

    def _keep_idling(self, box: ConnectedMailbox) -> None:
        wanted = box.idle and box.status not in ("failing", "new")
        if wanted and box.id not in self.idlers:
            try:
                account = Account(box.host, box.port, box.security, box.username,
                                  unseal(self.settings, box.secret), box.ca_file, self.settings.mailbox_timeout)
            except Exception as error:       # noqa: BLE001 - the key changed: the sync says so
                log.warning("mailbox %d: no IDLE (%s)", box.id, error)
                return
            idler = self.idlers[box.id] = Idler(account, self._changed(box.id))
            idler.start()
        elif not wanted and box.id in self.idlers:
            self.idlers.pop(box.id).stop()

    async def _sync(self, mailbox_id: int) -> None:
        try:
            async with self.slots:
                report = await sync_mailbox(self.db, self.intake, mailbox_id)
            if report.status == "unreachable":
                self.failed_at[mailbox_id] = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception as error:   # logged by the sync; the next due time tries again
            log.warning("mailbox %d: sync failed (%r)", mailbox_id, error)
            self.failed_at[mailbox_id] = time.monotonic()
        finally:
            self.running.pop(mailbox_id, None)
            self.wake.set()


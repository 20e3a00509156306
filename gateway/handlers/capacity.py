"""Room for one more message: the memory all sessions' message data may take, and free disk space.

:class:`MemoryBudget` bounds the bytes of DATA the whole process holds in memory, whatever the number
of sessions: what a session reads waits in memory only while the budget has room for it, else it goes
to the session's spool file at once (gateway.handlers.spool); the whole message is held for filing only
once the budget has room for all of it, counted twice (:data:`FILING_COPIES`: its bytes, and what filing
makes of them), else the sender hears ``451 4.3.1`` and tries again later.
:class:`Capacity` answers at MAIL, as Postfix does: ``452 4.3.1`` while the budget is used up, or while
a folder a message is written to (the spool's, and the data folder of an SQLite database) has less
free space than 1.5 times the size limit.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from gateway.config import Settings
from gateway.handlers.spool import SPOOL_AT
from gateway.replies import NO_MEMORY, NO_STORAGE, Reply

FREE_SPACE_FACTOR = 1.5      # free space needed at MAIL, in message size limits (Postfix: queue_minfree)
FILING_COPIES = 2            # a message held whole for filing counts twice: its bytes, the parsed text and
                             # the database driver's copies (gateway.handlers.protocol)


class MemoryBudget:
    """Bytes of message data held in memory by all sessions together, at most ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.peak = 0         # the most ever held at once

    @property
    def available(self) -> int:
        return self.limit - self.used

    def reserve(self, size: int) -> bool:
        """Count ``size`` more bytes as held, if the budget has room for them; False (nothing counted) if not."""
        if size > self.limit - self.used:
            return False
        self.used += size
        self.peak = max(self.peak, self.used)
        return True

    def release(self, size: int) -> None:
        self.used = max(0, self.used - size)


def free_space(folder: str | Path) -> int:
    """Bytes an unprivileged process may still write in ``folder``'s file system."""
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


class Capacity:
    """The process's memory budget, where it spools, and what MAIL asks of both."""

    def __init__(self, settings: Settings) -> None:
        self.budget = MemoryBudget(settings.memory_budget)
        self.spool_dir = settings.spool_dir or None          # None: the system's temporary folder
        self.needed_space = int(FREE_SPACE_FACTOR * settings.max_message_size)
        # MAIL waits while less than one message (or one spool's worth, if that is less) would fit, held
        # for filing (gateway.handlers.protocol.FILING_COPIES)
        self.needed_memory = FILING_COPIES * min(settings.max_message_size, SPOOL_AT)
        folders = [Path(self.spool_dir or tempfile.gettempdir())]
        if settings.is_embedded:
            folders.append(settings.data_dir)
        self.folders = tuple(folders)

    def refusal(self) -> tuple[Reply, str] | None:
        """None when a new transaction may start; else the reply for MAIL and, for the log, why."""
        if self.budget.available < self.needed_memory:
            return NO_MEMORY, (f"the memory budget is used up: {self.budget.used} of {self.budget.limit} bytes "
                               f"of message data held")
        for folder in self.folders:
            try:
                free = free_space(folder)
            except OSError as error:
                return NO_STORAGE, f"cannot see the free space of {folder} ({error})"
            if free < self.needed_space:
                return NO_STORAGE, f"{free} bytes free in {folder}, under {self.needed_space} (1.5 size limits)"
        return None

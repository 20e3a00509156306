"""Connected mailboxes kept in step with their IMAP servers: :mod:`~gateway.sync.engine` syncs one
mailbox (new mail filed through the SMTP side's own parser and filer, flags and moves both ways);
:mod:`~gateway.sync.scheduler` decides when (IDLE, the owner's activity, a request), as tasks of their own
beside the SMTP server in `smartbcc serve`."""

from gateway.sync.engine import Intake, Report, sync_mailbox
from gateway.sync.scheduler import Scheduler

__all__ = ["Intake", "Report", "Scheduler", "sync_mailbox"]

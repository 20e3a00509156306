"""Run the SMTP server: one asyncio server, one handler, one database handle for the process."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import ssl
import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence, cast

from gateway.ops import memory
from gateway.config import ConfigError, Settings, listen_hosts
from gateway.handlers.journal import Journal
from gateway.handlers.protocol import GatewaySMTP, command_call_limit
from gateway.handlers.smtp import GatewayHandler
from gateway.handlers.capacity import MemoryBudget
from gateway.handlers.limits import ErrorMemory, SenderRate, SessionCounter, SessionLimits
from gateway.ops.metrics import Metrics
from gateway.ops.monitoring import Monitoring
from gateway.ops.shared import SharedBudget, SharedSenderRate, SharedSessions, SharedState
from gateway.store import raw
from gateway.services import digest, tasks
from gateway.services.webhook_sender import Sender
from gateway.store.database import Database
from gateway.sync import Intake, Scheduler
from gateway.sync.intake import parser_for
from gateway.store.models import utcnow

log = logging.getLogger("smartbcc.server")


@dataclass
class RunningGateway:
    settings: Settings
    db: Database
    server: asyncio.Server
    handler: GatewayHandler
    sessions: SessionCounter
    live: set[GatewaySMTP]
    certificates: Certificates
    metrics: Metrics
    monitoring: Monitoring | None = None
    stopping: bool = False
    sweeper: asyncio.Task[None] | None = None
    mailboxes: Scheduler | None = None       # the connected mailboxes' syncs (gateway.sync)
    notifier: asyncio.Task[None] | None = None
    quiet: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)   # set: the notifier stops
    webhooks: asyncio.Task[None] | None = None     # sends the webhook outbox (gateway.services.webhook_sender)
    webhook_sender: Sender | None = None
    more_servers: list[asyncio.Server] = dataclasses.field(default_factory=list)   # listening on other addresses

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    @property
    def metrics_port(self) -> int | None:
        return self.monitoring.port if self.monitoring is not None else None

    async def stop(self) -> None:
        """Stop listening; sessions between transactions hear 421 4.3.2 now, those in one may finish it
        within ``shutdown_timeout`` (then 421 4.3.2 too); filings under way commit; the database closes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.shutdown_timeout
        self.stopping = True                 # /readyz answers 503 from now on
        for server in (self.server, *self.more_servers):
            server.close()
        if self.sweeper is not None:
            self.sweeper.cancel()
        if self.mailboxes is not None:
            await self.mailboxes.stop()
        self.quiet.set()         # the notifier ends after the round under way, if any
        for session in list(self.live):
            session.shut_down()
        while self.live and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.live:
            log.warning("%d sessions still in a transaction after %g s; closing them", len(self.live),
                        self.settings.shutdown_timeout)
            for session in list(self.live):
                session.shut_down(force=True)
            await asyncio.sleep(0)
        for server in (self.server, *self.more_servers):
            await server.wait_closed()
        await self.handler.filer.drain(max(1.0, deadline - loop.time()))
        await asyncio.to_thread(self.handler.close)
        if self.mailboxes is not None:
            await self.mailboxes.intake.close()
        if self.monitoring is not None:
            await self.monitoring.close()
        if self.notifier is not None:
            try:
                await asyncio.wait_for(self.notifier, max(1.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                log.warning("the check of overdue tasks and digests did not finish; stopped it")
        if self.webhooks is not None and self.webhook_sender is not None:
            try:         # an attempt cut short is sent again once its claim lapses (at least once)
                await asyncio.wait_for(self.webhooks, max(1.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                log.warning("webhook deliveries under way did not finish; they are sent again later")
            await self.webhook_sender.close()
        await self.db.close()


class Certificates:
    """The STARTTLS context: loaded at start, loaded again on SIGHUP (renewed certificates)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.context = tls_context(settings)

    def reload(self) -> bool:
        """Load the files again; on failure keep serving with the old ones (and say why)."""
        try:
            self.context = tls_context(self.settings)
        except ConfigError as error:
            log.error("certificate reload failed, keeping the current one: %s", error)
            return False
        log.info("reloaded the TLS certificate from %s", self.settings.tls_cert_file or "(none configured)")
        return True


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's STARTTLS context, when a certificate is configured (read once, at start)."""
    if not settings.tls_cert_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"cannot use tls_cert_file {settings.tls_cert_file} with tls_key_file "
                          f"{settings.tls_key_file}: {error}") from None
    return context


@dataclass(frozen=True)
class Worker:
    """One of the processes of ``smartbcc serve --workers N`` (gateway.supervisor): it serves on the
    sockets the supervisor listens on, counts against the bounds all workers share, and does the chores
    (sweeps, mailbox syncs, notices and digests) only if it is worker 0."""

    number: int
    sockets: Sequence[socket.socket]
    shared: SharedState

    @property
    def chores(self) -> bool:
        return self.number == 0


async def start(settings: Settings, worker: Worker | None = None) -> RunningGateway:
    """Open the database and listen; the returned gateway serves until ``stop()``."""
    certificates = Certificates(settings)
    db = await Database.open(settings)
    chores = worker is None or worker.chores
    if chores:
        await _sweep(db)
    handler = GatewayHandler(db, settings)
    if worker is None:
        sessions = SessionCounter(settings.max_sessions, settings.max_sessions_per_client)
    else:        # the whole gateway's bounds: the same interfaces, counted across workers (gateway.ops.shared)
        shared, number = worker.shared, worker.number
        sessions = cast(SessionCounter, SharedSessions(shared, number, settings.max_sessions,
                                                       settings.max_sessions_per_client))
        handler.rates = cast(SenderRate, SharedSenderRate(shared, number, settings.sender_hourly_limit,
                                                          settings.auto_hourly_limit))
        handler.capacity.budget = cast(MemoryBudget, SharedBudget(shared, number, settings.memory_budget))
    call_limit = command_call_limit(settings.max_commands)
    limits, errors = SessionLimits.of(settings), ErrorMemory()
    live: set[GatewaySMTP] = set()
    metrics = Metrics(lambda: len(live), handler.capacity.budget)
    journal = Journal(metrics)
    loop = asyncio.get_running_loop()

    def protocol() -> GatewaySMTP:
        return GatewaySMTP(
            handler, sessions=sessions, limits=limits, errors=errors, live=live, journal=journal,
            data_size_limit=settings.max_message_size, enable_SMTPUTF8=True, tls_context=certificates.context,
            require_starttls=settings.require_tls,
            hostname=settings.greeting_name, ident="smartbcc ESMTP", timeout=settings.idle_timeout,
            command_call_limit=call_limit, loop=loop,
            capacity=handler.capacity, data_line_limit=settings.max_line_length,
        )

    try:
        if worker is None:
            hosts = listen_hosts(settings.host)     # "0.0.0.0,::": one socket per family, on the same port
            servers = [await loop.create_server(protocol, host=hosts if len(hosts) > 1 else hosts[0],
                                                port=settings.port)]
        else:
            servers = [await loop.create_server(protocol, sock=sock) for sock in worker.sockets]
    except OSError:
        await db.close()
        raise
    gateway = RunningGateway(settings, db, servers[0], handler, sessions, live, certificates, metrics,
                             more_servers=servers[1:])
    if settings.metrics_port and worker is None:     # workers: the supervisor serves them (gateway.supervisor)
        monitoring = Monitoring(db, metrics, lambda: gateway.stopping)
        try:
            await monitoring.start(settings.metrics_host, settings.metrics_port)
        except OSError as error:
            for server in servers:
                server.close()
                await server.wait_closed()
            await asyncio.to_thread(handler.close)
            await db.close()
            raise ConfigError(f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
                              f"{error.strerror or error}; set metrics_port to a free port, or 0 for none") from None
        gateway.monitoring = monitoring
    if not chores:
        return gateway
    gateway.sweeper = loop.create_task(_sweep_now_and_then(db))
    # connected mailboxes: filed by the SMTP side's filer, parsed by a process of their own
    gateway.mailboxes = Scheduler(db, settings, Intake(settings, parser_for(db, settings), handler.filer))
    gateway.mailboxes.start()
    if settings.notice_interval > 0:
        gateway.notifier = loop.create_task(_notices_now_and_then(db, settings, gateway.quiet))
    if settings.webhook_interval > 0:
        gateway.webhook_sender = Sender(db, settings)
        gateway.webhooks = loop.create_task(gateway.webhook_sender.run(gateway.quiet))
    return gateway


SWEEP_EVERY = 6 * 3600      # seconds between two sweeps of unnamed pieces while the gateway runs


async def _sweep(db: Database) -> None:
    """Delete the pieces of large messages that no message names once they are a day old (gateway.store.raw):
    left by a crash, or by a deletion that failed because the database was failing then."""
    try:
        swept = await raw.sweep(db)
    except Exception as error:    # the pieces stay; the next sweep tries again
        log.warning("could not delete unused pieces of large messages (%r)", error)
    else:
        if swept:
            log.info("deleted %d pieces of large messages that no message names", swept)


async def _sweep_now_and_then(db: Database) -> None:
    while True:
        await asyncio.sleep(SWEEP_EVERY)
        await _sweep(db)


async def _notices(db: Database, settings: Settings) -> None:
    """Notify the owners of tasks that became overdue; once a day, mail the digests of those who chose it."""
    try:
        overdue = await tasks.notify_overdue(db)
        if overdue:
            log.info("notified %d overdue task(s)", overdue)
        now = utcnow()
        if digest.due_for_digest(settings, now):
            sent = await digest.send_digests(db, settings, now, only_due=True)
            if sent:
                log.info("mailed %d digest(s)", len(sent))
    except Exception as error:    # the next round tries again
        log.warning("could not check overdue tasks or mail digests (%r)", error)


async def _notices_now_and_then(db: Database, settings: Settings, quiet: asyncio.Event) -> None:
    while True:
        try:
            await asyncio.wait_for(quiet.wait(), settings.notice_interval)
            return
        except asyncio.TimeoutError:
            await _notices(db, settings)


def configure_logging(level: str, tag: str = "") -> None:
    """Log to stderr; ``tag`` (e.g. "worker 1") starts each line, when several processes share it."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level.upper(),
                            format=f"%(asctime)s %(levelname)s {tag + ' ' if tag else ''}%(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)   # aiosmtpd's per-command chatter


async def run(settings: Settings, worker: Worker | None = None,
              serving: Callable[[bool], None] = lambda serving: None) -> None:
    """Serve until SIGINT or SIGTERM; ``serving`` hears True once listening, False when stopping."""
    if worker is None:
        configure_logging(settings.log_level)
    memory.return_large_blocks()
    gateway = await start(settings, worker)
    log.info("smartbcc listening on %s:%d for mail to @%s (database %s)", settings.host, gateway.port,
             gateway.db.mail_domain, gateway.db.engine.url.render_as_string(hide_password=True))
    serving(True)
    if gateway.monitoring is not None:
        log.info("metrics on http://%s:%d/metrics (health: /healthz, readiness: /readyz)",
                 settings.metrics_host, gateway.metrics_port)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    loop.add_signal_handler(signal.SIGHUP, gateway.certificates.reload)
    try:
        await stopped.wait()
    finally:
        log.info("smartbcc stopping")
        serving(False)
        await gateway.stop()

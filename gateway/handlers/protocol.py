"""aiosmtpd's SMTP protocol, made to speak with enhanced status codes and to hold up against abuse.

aiosmtpd writes some replies itself (``250 OK``, ``501 Syntax: ...``, ``552 Error: Too much mail
data``). :class:`GatewaySMTP` adds the RFC 3463 code those lack, and words size refusals like the
gateway's own. The greeting and the HELO/EHLO replies keep their plain form, as RFC 2034 asks.

Against hostile clients it adds, on aiosmtpd's own knobs (``timeout``, ``command_call_limit``) and the
bounds of gateway.handlers.limits.SessionLimits:
- a bound on sessions, in total and per client address (``421 4.7.0`` before the greeting); when the
  server is full, the session that has made no progress longest (``busy_idle_timeout``) yields its
  place to the newcomer (``421 4.7.0``), so tricklers cannot lock real senders out;
- ``421 4.4.2`` and a closed connection when a client idles between commands (``idle_timeout``), stays
  silent in DATA (``data_timeout``), sends its data slower than ``data_min_rate`` after the grace or
  for longer than ``data_max_time`` in all, or keeps the session past ``max_session_time``; the DATA
  hook bounds its own work (gateway.handlers.smtp);
- every error reply counts (Postfix's ``smtpd_*_error_limit``): beyond ``soft_error_limit`` each waits
  ``error_sleep_time``, at ``hard_error_limit`` the next command gets ``421 4.7.0``; a delivered
  message clears the count, and a client's next session starts where its last left off (at most the
  soft limit), so reconnecting does not make probing fast again;
- RSET at most 50 times with no transaction in between (a relay reusing its connection is never cut);
- ``503 5.5.1`` for STARTTLS inside TLS;
- ``554 5.5.0`` and a hang-up for message data sent before the 354 reply (RFC 2920: DATA ends a
  pipelined group; the same SMTP-smuggling guard Postfix applies);
- ``501 5.5.2`` for a command argument with NUL, other control characters or invalid UTF-8, and
  ``553 5.1.3`` for a path whose angle bracket is never closed (aiosmtpd's parser would accept it);
- after any ``421`` the connection closes and whatever the client pipelined behind is dropped.
DATA is read in large chunks, not line by line as aiosmtpd does (gateway.handlers.framing), with
aiosmtpd's limits and replies, except that lines of message data may be as long as ``data_line_limit``
(setting ``max_line_length``; commands keep aiosmtpd's 512 bytes). Only ``<CR><LF>.<CR><LF>`` ends DATA:
a bare LF or CR before or after a dot stays inside the message. Whatever goes wrong while the data
comes (a full disk, any error), the data is read and dropped to its end, then one reply is given
(``451``), the transaction is over, and what the client sends after the end is its next command: no
byte of message data is ever run as a command. The bytes held in memory count against the process's
memory budget (gateway.handlers.capacity): beyond it they go to the spool file at once.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import re
import secrets
import time
from typing import Any, AnyStr, Awaitable, Callable, cast

from email._header_value_parser import get_addr_spec, get_angle_addr
from email.errors import HeaderParseError

from aiosmtpd.smtp import MISSING, SMTP, Session, syntax

from gateway.handlers.capacity import FILING_COPIES, Capacity, MemoryBudget
from gateway.handlers.framing import DataFramer, Overrun
from gateway.handlers import prototype
from gateway.handlers.journal import Journal, Peer, path_of
from gateway.handlers.spool import SPOOL_AT, Spool
from gateway.handlers.transaction import Transaction
from gateway.handlers.limits import ErrorMemory, SessionCounter, SessionLimits, data_deadline, data_progress, shed_choice
from gateway.replies import (
    BAD_ADDRESS, BAD_CHARACTERS, DEFAULT_ENHANCED, MESSAGE_TOO_BIG, SESSION_SHED, SHUTTING_DOWN, SYNC_ERROR,
    TIMEOUT, TLS_ACTIVE, TOO_MANY_ERRORS, TOO_MANY_RSETS,
)
from gateway.replies import BARE_LF, DATA_LINE_TOO_LONG, DATA_NO_MEMORY, DATA_NO_STORAGE, TEMPORARY_FAILURE, Reply

log = logging.getLogger("smartbcc.smtp")

_HAS_ENHANCED = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}(?: |$)")
_SINGLE_LINE = re.compile(r"^(?P<code>\d{3})(?: (?P<text>.*))?$", re.S)
_PLAIN = {220, 334, 354}
# NUL and other controls (TAB aside), and the surrogates that stand for bytes that are not UTF-8
_BAD_CHARACTERS = re.compile("[\x00-\x08\x0a-\x1f\x7f\udc80-\udcff]")
_UNBALANCED_PATH = re.compile(r"(?i)^(?:FROM|TO):\s*<[^>]*$")   # "<" opened and never closed
CHATTY_COMMANDS = ("NOOP", "HELO", "EHLO", "VRFY", "HELP", "STARTTLS")
CHATTY_LIMIT = 50           # each chatty command per session; RSET this often with no transaction between
DATA_CHUNK = 256 * 1024     # what one read in DATA takes at most
SMALL_CHUNK = 16 * 1024     # the same, while the memory budget has no room for large reads
READ_HOLD = 3 * DATA_CHUNK  # what large reads hold in memory: the stream's buffer (two chunks) and a chunk
DATA_LINE_LIMIT = 1024 * 1024   # bytes in a line of message data, CRLF included (setting max_line_length)
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def with_enhanced_code(status: str) -> str:
    """``250 OK`` -> ``250 2.0.0 OK``; replies that have a code, or need none, pass unchanged."""
    if _HAS_ENHANCED.match(status):
        return status
    match = _SINGLE_LINE.match(status)
    if match is None:
        return status
    code = int(match["code"])
    if code in _PLAIN or code not in DEFAULT_ENHANCED:
        return status
    if code == 552:
        return str(MESSAGE_TOO_BIG)
    text = match["text"] or ""
    return f"{code} {DEFAULT_ENHANCED[code]} {text}".rstrip()


def command_call_limit(max_commands: int) -> dict[str, int]:
    """aiosmtpd's per-session budget for each command: chatty ones get less (then 421 4.7.0). RSET is
    not among them: a relay sends one per transaction; the session counts those in a row itself."""
    return {"*": max_commands, **{name: min(CHATTY_LIMIT, max_commands) for name in CHATTY_COMMANDS}}


def client_of(peer: Any) -> str:
    return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer or "?")


class GatewaySession(Session):
    """aiosmtpd's session, holding the transaction under way (gateway.handlers.transaction): the hooks
    receive it, so they and the protocol note what they learn on one record."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.transaction: Transaction | None = None


class GatewaySMTP(SMTP):
    _plain_replies = False
    session: GatewaySession | None

    def __init__(self, handler: Any, *, sessions: SessionCounter | None = None, limits: SessionLimits | None = None,
                 errors: ErrorMemory | None = None, live: set[GatewaySMTP] | None = None,
                 journal: Journal | None = None, capacity: Capacity | None = None,
                 data_line_limit: int = DATA_LINE_LIMIT, **options: Any) -> None:
        prototype.initialize(self, handler, options)     # SMTP.__init__, made once per server
        self.journal = journal or Journal()
        self.session_id = secrets.token_hex(6)            # names the session in the transaction log
        self._last_status = ""
        self.sessions = sessions
        self.live = live if live is not None else set()    # the server's open sessions, for shutdown
        self.limits = limits or SessionLimits()
        self.data_timeout = self.limits.data_timeout
        self.error_memory = errors if errors is not None else ErrorMemory()
        self._born = 0.0             # loop time the session opened; its age bound counts from there
        self._progress = 0.0         # loop time of its last accepted MAIL, RCPT or message
        self._data_started = 0.0     # the DATA phase under way: when it began, its bytes, its last byte
        self._data_bytes = 0
        self._data_last = 0.0
        self._errors = 0             # error replies without a message delivered (Postfix's error count)
        self._rsets = 0              # RSETs since the last accepted MAIL
        self._client: str | None = None      # set while this session counts against the bounds
        self._refused = False
        self._in_data = False
        self._in_hook = False
        self._stopping = False
        self._spooled: Spool | None = None    # the message of the DATA under way, when it is large
        self.data_line_limit = data_line_limit
        self.spool_dir = capacity.spool_dir if capacity is not None else None
        self.budget = capacity.budget if capacity is not None else MemoryBudget(1 << 62)
        self._held = 0                        # bytes of this DATA counted against the memory budget
        self._smtp_methods = _Commands(self, self._smtp_methods)

    # -- connection ---------------------------------------------------------------------------------

    def _create_session(self) -> GatewaySession:
        return GatewaySession(self.loop)

    @property
    def transaction(self) -> Transaction | None:
        """The transaction under way, if any (on the session, where the hooks find it)."""
        return self.session.transaction if self.session is not None else None

    def connection_made(self, transport: Any) -> None:
        first = self._original_transport is None and self._client is None
        if first:
            self._born = self._progress = self.loop.time()
        if first and self.sessions is not None:
            client = client_of(transport.get_extra_info("peername"))
            refusal = self.sessions.admit(client)
            if refusal is not None and self._shed_one():
                refusal = self.sessions.admit(client)
            if refusal is not None:
                log.warning("%s refused: %d sessions open (%d from it)", client, self.sessions.total,
                            self.sessions.by_client.get(client, 0))
                self._refused = True
                transport.write(f"{refusal}\r\n".encode())
                transport.close()
                return
            self._client = client
        if first:
            self._errors = min(self.error_memory.recall(client_of(transport.get_extra_info("peername")),
                                                        self._born), self.limits.soft_error_limit)
            self.live.add(self)
        super().connection_made(transport)

    def _shed_one(self) -> bool:
        """The server is full: close the session that has done least, if it has done nothing for
        ``busy_idle_timeout`` (gateway.handlers.limits.shed_choice). True if one gave way."""
        assert self.sessions is not None
        if self.sessions.total < self.sessions.max_total:
            return False         # refused for its own address's bound: no one else gives way for that
        now = self.loop.time()
        victim = shed_choice(((s._progress_mark(), s) for s in self.live if s._client is not None
                              and not s._in_hook and s.transport is not None and not s.transport.is_closing()),
                             now, self.limits.busy_idle_timeout)
        if victim is None:
            return False
        victim._shed(now)
        return True

    def _progress_mark(self) -> float:
        """When this session last moved forward: an accepted MAIL, RCPT or message; in DATA, what its
        bytes pay for at ``data_min_rate``."""
        if self._in_data:
            return max(self._progress, data_progress(self._data_started, self._data_bytes, self.limits))
        return self._progress

    def _shed(self, now: float) -> None:
        """Give way to a newcomer: 421 4.7.0, closed, and its place free at once."""
        log.warning("%s closed to make room: no progress for %.0f s while the server is full",
                    client_of(self.session and self.session.peer), now - self._progress_mark())
        if self._client is not None and self.sessions is not None:
            self.sessions.release(self._client)
            self._client = None
        assert self.transport is not None
        self._say(SESSION_SHED)
        self._hang_up()

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            return
        if self.session is not None:
            self.error_memory.remember(client_of(self.session.peer), self._errors, self.loop.time())
        if self._client is not None and self.sessions is not None:
            self.sessions.release(self._client)
            self._client = None
        self._end_transaction(None)
        self.live.discard(self)
        super().connection_lost(error)

    def data_received(self, data: bytes) -> None:
        if self._in_data and self.transport is not None:
            self._data_bytes += len(data)
            self._data_last = self.loop.time()
            self._reset_timeout()
        super().data_received(data)

    def _start_data_clock(self) -> None:
        """DATA begins: from now its silence, rate and total deadlines apply (:meth:`_reset_timeout`)."""
        self._in_data = True
        self._data_started = self._data_last = self.loop.time()
        self._data_bytes = 0
        self._reset_timeout()

    def _reset_timeout(self, duration: float | None = None) -> None:
        """aiosmtpd's timer, set to the first bound due. In DATA: ``data_timeout`` after the last byte, and
        the deadline a trickle cannot stretch (gateway.handlers.limits.data_deadline). Between commands: the idle
        timeout (aiosmtpd's ``timeout``, or ``duration``), and never past the session's age bound."""
        if self._timeout_handle is not None:
            self._timeout_handle.cancel()
        now = self.loop.time()
        if self._in_data:
            when = min(self._data_last + self.limits.data_timeout,
                       data_deadline(self._data_started, self._data_bytes, self.limits))
        else:
            when = min(now + (duration or self._timeout_duration), self._born + self.limits.max_session_time)
        self._timeout_handle = self.loop.call_at(when, self._timeout_cb)

    def _timeout_cb(self) -> None:
        if self.transport is None:
            return
        now = self.loop.time()
        if self._in_data:
            what = ("DATA silence" if now >= self._data_last + self.limits.data_timeout else
                    f"DATA too slow or too long ({self._data_bytes} bytes in {now - self._data_started:.1f} s)")
        elif now >= self._born + self.limits.max_session_time:
            what = f"session age ({self.limits.max_session_time:g} s)"
        else:
            what = "idle"
        log.info("%s %s timeout; closing", client_of(self.session and self.session.peer), what)
        self._say(TIMEOUT)
        self._hang_up()

    @property
    def in_transaction(self) -> bool:
        """Between MAIL and the reply to DATA (or RSET): a transaction a stop lets finish."""
        return self._in_data or self._in_hook or (self.envelope is not None and self.envelope.mail_from is not None)

    def shut_down(self, force: bool = False) -> None:
        """The server is stopping: a session between transactions hears 421 4.3.2 and is closed now; one
        in a transaction may finish it (``force``: not even that), then hears 421 4.3.2 for what follows.
        A filing under way still completes either way."""
        self._stopping = True
        if self.transport is None or self.transport.is_closing():
            self.live.discard(self)          # gone already (a TLS session's old transport, say)
        elif force or not self.in_transaction:
            self._say(SHUTTING_DOWN)
            self._hang_up()

    def _say(self, reply: Reply) -> None:
        """Write ``reply`` straight to the transport, outside the command loop (the connection closes next)."""
        cast(asyncio.WriteTransport, self.transport).write(f"{reply}\r\n".encode())

    def _hang_up(self) -> None:
        """Close now; drop whatever the client pipelined behind, unread."""
        self._reader._buffer.clear()   # type: ignore[attr-defined]
        if self.transport is not None:
            self.transport.close()

    # -- replies --------------------------------------------------------------------------------------

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and not self._plain_replies:
            status = with_enhanced_code(status)
        if isinstance(status, str):
            self._last_status = status
            if status[:1] in ("4", "5") and not status.startswith("421"):
                self._errors += 1             # beyond the soft limit, every error reply costs time
                if self._errors > self.limits.soft_error_limit and self.limits.error_sleep_time > 0:
                    await asyncio.sleep(self.limits.error_sleep_time)
        await super().push(status)
        if isinstance(status, str) and status.startswith("421"):
            self._hang_up()

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        self._plain_replies = bool(hostname)
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._plain_replies = False

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        self._plain_replies = bool(hostname)
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._plain_replies = False

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        if self._tls_protocol is not None:        # RFC 3207 4.2: no second handshake inside the first
            await self.push(str(TLS_ACTIVE))
            return
        await super().smtp_STARTTLS(arg)

    # -- DATA -----------------------------------------------------------------------------------------

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if self._reader._buffer:   # type: ignore[attr-defined]
            log.warning("%s sent message data before the 354 reply (improper pipelining); closing",
                        client_of(self.session and self.session.peer))
            await super().push(str(SYNC_ERROR))
            self._hang_up()
            return
        self._start_data_clock()
        try:
            await self._receive_data(arg)
        finally:
            self._in_data = False
            if self.transport is not None:
                self._reset_timeout()
        if self._stopping:
            self.shut_down()

    async def _receive_data(self, arg: str) -> None:
        """aiosmtpd's DATA (same checks, replies and envelope), its data read in large chunks rather than
        line by line (gateway.handlers.framing). The deprecated ``process_message`` hook is not called."""
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        try:
            message = await self._read_data()
            if isinstance(message, bytes):
                await self._hand_over(message)
            else:                         # the data is read and dropped: one reply for it, the transaction ends
                await self.push(message)
                self._end_transaction(self._last_status, "DATA")
                self._set_post_data_state()
        finally:      # however the transaction ended (even cut off mid-DATA), its spool and memory go
            spooled, self._spooled = self._spooled, None
            if spooled is not None:
                spooled.remove()
            self.budget.release(self._held)
            self._held = 0

    async def _read_data(self) -> bytes | str:
        """Read the data to its end (a large message into a spool, :attr:`_spooled`): the whole message, or
        the reply for a failure. A failure before the end drops the rest of the data; the reply is given
        after the end, by the caller. What the client pipelined after the end is left for the command loop."""
        framer = DataFramer(self.data_size_limit, self.data_line_limit)
        failure: Reply | None = None
        end = -1
        # The stream stops reading the socket once it holds twice its limit, aiosmtpd's line length: in
        # DATA that was after every read, and each pause and resume is a trip to the kernel. While the
        # data comes it may hold up to two chunks; the line limit is back for the commands after.
        # Large reads count against the memory budget too; without room for them, the data comes in small ones.
        reading = READ_HOLD if self.budget.reserve(READ_HOLD) else 0
        chunk_size = DATA_CHUNK if reading else SMALL_CHUNK
        line_limit, self._reader._limit = self._reader._limit, chunk_size   # type: ignore[attr-defined]
        try:
            while end < 0:
                try:
                    chunk = await self._reader.read(chunk_size)
                except asyncio.CancelledError:       # connection lost or EOF (aiosmtpd cancels this task)
                    log.info("Connection lost during DATA")
                    self._writer.close()
                    raise
                if not chunk:                        # EOF that did not cancel: what readuntil would raise
                    raise asyncio.IncompleteReadError(b"", None)
                end = framer.feed(chunk)
                if framer.overrun is None:
                    failure = await self._keep(framer)
                    if failure is not None:
                        framer.abandon()             # read on to the end, dropping the data
        finally:
            self._reader._limit = line_limit   # type: ignore[attr-defined]
            self.budget.release(reading)
        transaction = self.transaction
        if transaction is not None:
            transaction.data_ended, transaction.size = time.monotonic(), framer.size
        if end < len(chunk):                     # commands pipelined after the end: put back for the loop
            self._reader._buffer[:0] = memoryview(chunk)[end:]   # type: ignore[attr-defined]
        if failure is not None:                  # the data was dropped (its framer abandoned) for this
            return str(failure)
        if framer.overrun is not None:
            return self._overrun_reply(framer.overrun)
        try:
            message = await self._whole(framer)
        except Exception as error:       # the data is read: the reply answers it, the session goes on
            return str(self._failure("reading the message back", error))
        return str(DATA_NO_MEMORY) if message is None else message

    async def _hand_over(self, original_content: bytes) -> None:
        """Give the message that came to the DATA hook as aiosmtpd does (``envelope.content`` and
        ``original_content``; a large message's spool file on the transaction), reply what it answers,
        and end the transaction."""
        assert self.envelope is not None
        content: str | bytes = original_content
        if self._decode_data:
            try:
                content = (original_content.decode("utf-8", errors="surrogateescape") if self.enable_SMTPUTF8
                           else original_content.decode("ascii", errors="strict"))
            except UnicodeDecodeError:
                await self.push("500 Error: strict ASCII mode")
                self._end_transaction(self._last_status, "DATA")
                return
        self.envelope.content = content
        self.envelope.original_content = original_content
        transaction = self.transaction
        if transaction is not None:
            transaction.spool = self._spooled.path if self._spooled is not None else None   # the parser reads it
            transaction.size = len(original_content)
        status = await self._call_handler_hook("DATA") if "DATA" in self._handle_hooks else MISSING
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)
        self._end_transaction(self._last_status, "DATA")

    async def _keep(self, framer: DataFramer) -> Reply | None:
        """What the framer holds stays in memory while the budget has room for it and it is less than a
        spool's worth; else it goes to the spool now. None, or the reply for a spool that failed."""
        growth = framer.pending - self._held
        if framer.pending < SPOOL_AT and (growth <= 0 or self.budget.reserve(growth)):
            self._held += max(growth, 0)
            return None
        try:
            if self._spooled is None:
                self._spooled = await asyncio.to_thread(Spool, self.spool_dir)
            await asyncio.to_thread(self._spooled.write, framer.take())
        except Exception as error:
            return self._failure("spooling the message", error)
        finally:
            self.budget.release(self._held)
            self._held = 0
        return None

    async def _whole(self, framer: DataFramer) -> bytes | None:
        """The whole message in memory, counted against the budget :data:`FILING_COPIES` times (its bytes,
        and what filing makes of them: the parsed text, the database driver's copies); None when the budget
        has no room. What the framer holds is counted once already (:meth:`_keep`); a spooled message is
        counted before it is read back."""
        spooled = self._spooled
        if spooled is None:
            size = framer.pending
            if not self._count(size * FILING_COPIES - self._held, size):
                return None
            return framer.message()
        await asyncio.to_thread(spooled.write, framer.take())
        self.budget.release(self._held)
        self._held = 0
        if not self._count(spooled.size * FILING_COPIES, spooled.size):
            return None
        return await asyncio.to_thread(spooled.read)

    def _count(self, more: int, size: int) -> bool:
        """Count ``more`` bytes against the budget for this DATA's ``size``-byte message, if there is room."""
        if more > 0 and not self.budget.reserve(more):
            log.warning("%s DATA: no room in the memory budget (%d of %d bytes held) for a %d-byte message",
                        client_of(self.session and self.session.peer), self.budget.used, self.budget.limit, size)
            return False
        self._held += max(more, 0)
        return True

    def _failure(self, doing: str, error: Exception) -> Reply:
        room = isinstance(error, OSError) and error.errno in _NO_ROOM
        log.error("%s DATA: %s failed (%r); answering 451 once the data is in",
                  client_of(self.session and self.session.peer), doing, error, exc_info=not room)
        return DATA_NO_STORAGE if room else TEMPORARY_FAILURE

    @staticmethod
    def _overrun_reply(overrun: Overrun | None) -> str:
        if overrun is Overrun.TOO_LONG:
            return str(DATA_LINE_TOO_LONG)
        if overrun is Overrun.BARE_LF:
            return str(BARE_LF)
        return "552 Error: Too much mail data"

    # -- the transaction log --------------------------------------------------------------------------

    def _set_rset_state(self) -> None:
        """RSET, HELO/EHLO, STARTTLS: a transaction under way ends here, abandoned."""
        self._end_transaction(None)
        super()._set_rset_state()

    def _open(self, arg: str) -> bool:
        """Before MAIL: with no transaction under way, open one on the session, where the MAIL hook finds
        it. True if this MAIL opened it (:meth:`_observe` then keeps it, or ends or drops it)."""
        if self.session is None or self.session.transaction is not None:
            return False
        self.session.transaction = Transaction(sender=path_of(arg or ""))
        return True

    def _observe(self, command: str, arg: str, opened: bool = False) -> None:
        """After MAIL and RCPT: keep the transaction a MAIL opened (or log a refused MAIL), note its recipients."""
        status, transaction = self._last_status, self.transaction
        if command in ("smtp_MAIL", "smtp_RCPT") and status.startswith("2"):
            self._progress = self.loop.time()
        if command == "smtp_MAIL" and status.startswith("2"):
            self._rsets = 0                  # a transaction: the RSETs before it were no loop
        if command == "smtp_MAIL" and opened:
            if status.startswith("2") and self.envelope is not None and self.envelope.mail_from is not None:
                pass                         # the transaction is under way
            elif status and not status.startswith("2"):
                self._end_transaction(status, "MAIL")
            elif self.session is not None:
                self.session.transaction = None     # no reply (the connection went): nothing began
        elif command == "smtp_RCPT" and transaction is not None and status:
            if status.startswith("2"):
                transaction.recipients.append(path_of(arg))
            else:
                transaction.refused.append(path_of(arg or ""))
                transaction.last_refusal = status
                self.journal.recipient_refused(status)

    def _end_transaction(self, status: str | None, stage: str | None = None) -> None:
        """Hand the transaction under way, if any, to the journal: one line, one count."""
        session = self.session
        transaction = self.transaction
        if session is None or transaction is None:
            return
        session.transaction = None
        if status is None and (self.envelope is None or self.envelope.mail_from is None):
            return               # cut off while its MAIL was being answered: no transaction began
        if stage is None:
            stage = "DATA" if self._in_data or transaction.data_ended is not None else "RCPT" if (
                transaction.recipients or transaction.refused) else "MAIL"
        peer = Peer(self.session_id, client_of(session.peer), session.host_name or "", session.ssl is not None)
        try:
            self.journal.end(peer, transaction, stage, status)
        except Exception:        # the log must never cost a session
            log.exception("could not write the transaction log line")

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        if command != "DATA":
            return await super()._call_handler_hook(command, *args)
        self._in_data = False             # the message is in; the hook bounds its own work
        self._in_hook = True
        assert self._timeout_handle is not None
        self._timeout_handle.cancel()
        try:
            status = await super()._call_handler_hook(command, *args)
            if isinstance(status, str) and status.startswith("2"):
                self._errors = 0         # mail delivered: the errors before it were no probing
            return status
        finally:
            self._in_hook = False
            self._progress = self.loop.time()
            if self.transport is not None:
                self._reset_timeout()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's own, without the class it defines on every call (a typing Protocol, for its type
        checker): the address in a MAIL or RCPT argument and what follows it; (None, None) if it does
        not parse or its local part is too long."""
        if not arg:
            return "", ""
        try:
            found = get_angle_addr(arg) if arg.lstrip().startswith("<") else get_addr_spec(arg)
        except HeaderParseError:
            return None, None
        address, rest = found
        addr = address.addr_spec
        if self.local_part_limit and len(addr.rpartition("@")[0]) > self.local_part_limit:
            return None, None
        return addr, rest

    def _guarded(self, method: Callable[[str], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
        path_command = method.__name__ in ("smtp_MAIL", "smtp_RCPT")
        name = method.__name__

        @functools.wraps(method)     # HELP reads the syntax aiosmtpd's @syntax put on the method
        async def guarded(arg: str) -> None:
            if self._stopping and name != "smtp_QUIT" and not self.in_transaction:
                await self.push(str(SHUTTING_DOWN))      # 421: push hangs up
                return
            if self._errors >= self.limits.hard_error_limit and name != "smtp_QUIT":
                log.warning("%s made %d errors without delivering mail; closing",
                            client_of(self.session and self.session.peer), self._errors)
                await self.push(str(TOO_MANY_ERRORS))
                return
            if name == "smtp_RSET":
                self._rsets += 1
                if self._rsets > CHATTY_LIMIT:
                    log.warning("%s sent %d RSETs with no transaction between; closing",
                                client_of(self.session and self.session.peer), self._rsets)
                    await self.push(str(TOO_MANY_RSETS))
                    return
            self._last_status = ""
            opened = name == "smtp_MAIL" and self._open(arg)
            try:
                if arg and _BAD_CHARACTERS.search(arg):
                    log.warning("%s command argument with control or non-UTF-8 characters: %r",
                                client_of(self.session and self.session.peer), arg[:80])
                    await self.push(str(BAD_CHARACTERS))
                    return
                if path_command and arg and _UNBALANCED_PATH.match(arg):
                    await self.push(str(BAD_ADDRESS))
                    return
                await method(arg)
            finally:
                if path_command:
                    self._observe(method.__name__, arg, opened)
        return guarded


class _Commands(dict):
    """A session's command table (aiosmtpd looks each command up in it with ``get``): each command's
    method, wrapped by :meth:`GatewaySMTP._guarded` when the session first uses it. A session uses
    five or six of them; wrapping all fifteen at every connection was a cost of its own."""

    def __init__(self, session: GatewaySMTP, methods: dict[str, Callable[[str], Awaitable[None]]]) -> None:
        super().__init__(methods)
        self._session = session
        self._wrapped: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:
        method = super().get(name, default)
        if method is default or name in self._wrapped:
            return method
        self._wrapped.add(name)
        method = self[name] = self._session._guarded(method)
        return method

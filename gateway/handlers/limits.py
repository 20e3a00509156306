"""Bounds that keep one gateway process up under load and abuse: sessions, deadlines, errors, mail
loops, sender rates.

The decisions are pure functions over plain values; the small counters keep the state they need (per
process, in memory) and nothing else. The SMTP protocol asks :class:`SessionCounter` when a client
connects (and :func:`shed_choice` which session to close when the server is full), :func:`data_deadline`
how long DATA may take, and :class:`ErrorMemory` how many errors a client brings to a new session; the
DATA hook asks :func:`loop_reason` and :class:`SenderRate` before filing.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Iterable, TypeVar

from gateway.config import Settings
from gateway.mail.message import ParsedMessage
from gateway.replies import LOOP_DETECTED, SENDER_RATE, TOO_MANY_SESSIONS, Reply

MAX_HOPS = 50            # Received headers beyond this mean a forwarding loop (Postfix: hopcount_limit)
RATE_WINDOW = 3600.0     # seconds: the sender bounds are per hour
ERROR_MEMORY = 3600.0    # seconds a client's errors are remembered for its next session
ERROR_CLIENTS = 10_000   # clients whose errors are remembered at most (the oldest are forgotten)

T = TypeVar("T")


def admission(open_total: int, open_for_client: int, max_total: int, max_per_client: int) -> Reply | None:
    """May one more session open? None: yes; else the reply to give before closing (421 4.7.0)."""
    if open_total >= max_total or open_for_client >= max_per_client:
        return TOO_MANY_SESSIONS
    return None


@dataclass
class SessionCounter:
    """Open SMTP sessions, in total and per client address."""

    max_total: int
    max_per_client: int
    total: int = 0
    by_client: dict[str, int] = field(default_factory=dict)

    def admit(self, client: str) -> Reply | None:
        refusal = admission(self.total, self.by_client.get(client, 0), self.max_total, self.max_per_client)
        if refusal is None:
            self.total += 1
            self.by_client[client] = self.by_client.get(client, 0) + 1
        return refusal

    def release(self, client: str) -> None:
        self.total = max(0, self.total - 1)
        left = self.by_client.get(client, 0) - 1
        if left > 0:
            self.by_client[client] = left
        else:
            self.by_client.pop(client, None)


@dataclass(frozen=True)
class SessionLimits:
    """The bounds on one SMTP session's time and errors (each is a setting; see gateway.config)."""

    data_timeout: float = 600.0       # silence allowed inside DATA
    data_min_rate: float = 500.0      # bytes per second DATA must average after the grace (0: no bound)
    data_rate_grace: float = 30.0     # seconds of DATA before the rate counts
    data_max_time: float = 3600.0     # the whole DATA phase, however fast
    max_session_time: float = 3600.0  # a session's age, outside DATA and filing
    busy_idle_timeout: float = 10.0   # when the server is full: no progress this long and a session yields
    error_sleep_time: float = 1.0     # delay before each error reply beyond the soft limit
    soft_error_limit: int = 10        # errors without delivering mail before error replies are delayed
    hard_error_limit: int = 20        # errors without delivering mail before 421 4.7.0 and a hang-up

    @classmethod
    def of(cls, settings: Settings) -> SessionLimits:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


def data_deadline(started: float, received: int, limits: SessionLimits) -> float:
    """When a DATA phase that began at ``started`` and has ``received`` bytes so far must have ended.

    Postfix's ``smtpd_min_data_rate``: the grace, then one more second per ``data_min_rate`` bytes, so a
    trickle falls behind however steadily it comes; and never beyond ``data_max_time`` in all."""
    total = started + limits.data_max_time
    if limits.data_min_rate <= 0:
        return total
    return min(total, started + limits.data_rate_grace + received / limits.data_min_rate)


def data_progress(started: float, received: int, limits: SessionLimits) -> float:
    """The moment a DATA phase's bytes pay for at the minimum rate: a sender at the rate stays at "now",
    a trickle stays near ``started`` (what :func:`shed_choice` compares)."""
    if limits.data_min_rate <= 0:
        return started
    return started + received / limits.data_min_rate


def shed_choice(candidates: Iterable[tuple[float, T]], now: float, idle: float) -> T | None:
    """The server is full and a client knocks: which session, if any, gives way.

    ``candidates`` are (last progress, session) for sessions that may be closed (not filing). The one
    that has done least, the oldest progress, yields if it has made none for ``idle`` seconds (Postfix
    under stress cuts its timeouts to 10 s the same way); otherwise nobody does and the newcomer is
    refused. Sessions that deliver mail keep making progress and are never the ones shed."""
    oldest: tuple[float, T] | None = None
    for mark, session in candidates:
        if oldest is None or mark < oldest[0]:
            oldest = (mark, session)
    if oldest is None or now - oldest[0] < idle:
        return None
    return oldest[1]


class ErrorMemory:
    """The errors each client made without delivering mail, remembered between its sessions.

    Postfix counts errors per session; a prober would then reconnect every few errors and never be slowed.
    A client's new session starts with the errors its last one ended with (at most the soft limit, so a
    relay that had bad luck is slowed, not refused), forgotten after :data:`ERROR_MEMORY` seconds or
    once the client delivers a message."""

    def __init__(self, forget_after: float = ERROR_MEMORY, size: int = ERROR_CLIENTS) -> None:
        self.forget_after, self.size = forget_after, size
        self._errors: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def recall(self, client: str, now: float) -> int:
        errors, when = self._errors.get(client, (0, now))
        if now - when > self.forget_after:
            del self._errors[client]
            return 0
        return errors

    def remember(self, client: str, errors: int, now: float) -> None:
        self._errors.pop(client, None)
        if errors > 0:
            self._errors[client] = (errors, now)
            while len(self._errors) > self.size:
                self._errors.popitem(last=False)

    def __len__(self) -> int:
        return len(self._errors)


def is_own_address(address: str, mail_domain: str) -> bool:
    """An address at the gateway's own mail domain (normalized addresses)."""
    return address.rpartition("@")[2] == mail_domain


def loop_reason(parsed: ParsedMessage, envelope_from: str, mail_domain: str) -> str:
    """Why this message looks like a mail loop, or "": the gateway never writes mail to itself."""
    if envelope_from and is_own_address(envelope_from, mail_domain):
        return f"envelope sender {envelope_from} is one of the gateway's own addresses"
    for box in parsed.from_:
        if is_own_address(box.email, mail_domain):
            return f"header From {box.email} is one of the gateway's own addresses"
    hops = parsed.header_names.count("received")
    if hops > MAX_HOPS:
        return f"{hops} Received headers (more than {MAX_HOPS} hops)"
    return ""


MASS_MAIL = ("precedence:", "list-id", "auto-submitted: auto-generated")   # parsed.auto_generated reasons
ANSWER_HEADERS = ("x-autoreply", "x-autorespond")


def automatic_answer(parsed: ParsedMessage) -> bool:
    """Whether a machine wrote this message in answer to another one: an auto-reply (RFC 3834
    ``Auto-Submitted: auto-replied``, X-Autoreply), a delivery report, mail from a mailer-daemon. Two
    such machines answering each other are what a mail loop is made of.

    Mail that a program sent for a person to many (a CRM's mail merge: Precedence bulk or list,
    List-Id, ``Auto-Submitted: auto-generated``) is machine-made but answers nothing: it is no loop,
    and counts only with the sender's other mail. Asked once the sender is known to be a user."""
    reason = parsed.auto_generated
    if not reason:
        return False
    if any(name in parsed.header_names for name in ANSWER_HEADERS):
        return True
    return not reason.startswith(MASS_MAIL)


@dataclass(frozen=True)
class RateDecision:
    reply: Reply | None
    reason: str = ""


def rate_decision(sent_in_window: int, auto_in_window: int, auto_generated: bool,
                  sender_limit: int, auto_limit: int) -> RateDecision:
    """The per-sender hourly bounds. A person's burst, mass mail included, waits (451 4.7.1); a machine
    answering machines (``auto_generated``: :func:`automatic_answer`) beyond its own, lower bound is a
    loop of auto-replies and is refused (550 5.4.6)."""
    if auto_generated and auto_in_window >= auto_limit:
        return RateDecision(LOOP_DETECTED, f"{auto_in_window} automatic messages in the last hour "
                                           f"(bound {auto_limit}): an auto-reply loop")
    if sent_in_window >= sender_limit:
        return RateDecision(SENDER_RATE, f"{sent_in_window} messages in the last hour (bound {sender_limit})")
    return RateDecision(None)


class SenderRate:
    """Accepted messages per sender over the last hour, in memory (bounded by the limits themselves)."""

    def __init__(self, sender_limit: int, auto_limit: int, window: float = RATE_WINDOW) -> None:
        self.sender_limit, self.auto_limit, self.window = sender_limit, auto_limit, window
        self._all: dict[str, deque[float]] = {}
        self._auto: dict[str, deque[float]] = {}
        self._since_prune = 0

    def decide(self, sender: str, auto_generated: bool, now: float) -> RateDecision:
        return rate_decision(self._count(self._all, sender, now), self._count(self._auto, sender, now),
                             auto_generated, self.sender_limit, self.auto_limit)

    def record(self, sender: str, auto_generated: bool, now: float) -> None:
        self._all.setdefault(sender, deque(maxlen=self.sender_limit)).append(now)
        if auto_generated:
            self._auto.setdefault(sender, deque(maxlen=self.auto_limit)).append(now)
        self._since_prune += 1
        if self._since_prune >= 1000:
            self.prune(now)

    def prune(self, now: float) -> None:
        """Forget senders with nothing in the window, so memory follows the active senders only."""
        self._since_prune = 0
        for table in (self._all, self._auto):
            for sender in [s for s, times in table.items() if not times or times[-1] <= now - self.window]:
                del table[sender]

    def _count(self, table: dict[str, deque[float]], sender: str, now: float) -> int:
        times = table.get(sender)
        if not times:
            return 0
        while times and times[0] <= now - self.window:
            times.popleft()
        return len(times)

    def __len__(self) -> int:
        return len(self._all)

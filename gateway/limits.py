"""Bounds that keep one gateway process up under load and abuse: sessions, mail loops, sender rates.

The decisions are pure functions over plain values; the two small counters keep the state they need
(per process, in memory) and nothing else. The SMTP protocol asks :class:`SessionCounter` when a
client connects; the DATA hook asks :func:`loop_reason` and :class:`SenderRate` before filing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from gateway.mail.message import ParsedMessage
from gateway.replies import LOOP_DETECTED, SENDER_RATE, TOO_MANY_SESSIONS, Reply

MAX_HOPS = 50            # Received headers beyond this mean a forwarding loop (Postfix: hopcount_limit)
RATE_WINDOW = 3600.0     # seconds: the sender bounds are per hour


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

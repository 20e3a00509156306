"""What a running gateway counts, for Prometheus (prometheus-client renders the exposition format).

Each gateway has a registry of its own (no process-wide global), so two gateways in one process, as in
the tests, never add to each other's numbers. The SMTP side only calls :meth:`Metrics.transaction_ended`
with what a transaction came to (gateway.handlers.journal); the quarantine size and the database's health
are read when Prometheus scrapes (gateway.ops.monitoring).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest

if TYPE_CHECKING:
    from gateway.handlers.capacity import MemoryBudget

# seconds from the client's final dot to our reply: what a sending server waits for
REPLY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self, sessions_in_flight: Callable[[], int], budget: MemoryBudget | None = None) -> None:
        """``budget``: the process's memory budget (gateway.handlers.capacity), read at each scrape."""
        self.registry = CollectorRegistry()
        r = self.registry
        self.accepted = Counter(
            "smartbcc_messages_accepted", "Messages answered 250 after DATA, by how they were kept "
            "(filed: new message; seen_before: a known Message-ID, links added; quarantined; confirmation: "
            "an alternate address confirmed)", ["kept"], registry=r)
        self.refused = Counter(
            "smartbcc_messages_refused", "Transactions refused or deferred (4xx/5xx), by the stage that "
            "refused them, the reply code and the reason", ["stage", "code", "reason"], registry=r)
        self.recipients_refused = Counter(
            "smartbcc_recipients_refused", "RCPT TO commands refused, by reply code and reason (a "
            "transaction may go on with its other recipients)", ["code", "reason"], registry=r)
        self.abandoned = Counter(
            "smartbcc_transactions_abandoned", "Transactions the client left before a final reply "
            "(RSET, QUIT, a dropped connection, a timeout)", registry=r)
        self.bytes = Counter(
            "smartbcc_message_bytes", "Bytes of the messages accepted, as received", registry=r)
        self.reply_seconds = Histogram(
            "smartbcc_data_reply_seconds", "Seconds from the end of the message data to the final reply, "
            "by outcome", ["outcome"], buckets=REPLY_BUCKETS, registry=r)
        self.sessions = Gauge(
            "smartbcc_sessions_in_flight", "SMTP sessions open now", registry=r)
        self.sessions.set_function(lambda: float(sessions_in_flight()))
        self.quarantine = Gauge(
            "smartbcc_quarantine_messages", "Messages in the quarantine waiting for a replay "
            "(smartbcc quarantine list)", registry=r)
        self.database_up = Gauge(
            "smartbcc_database_up", "1 when the database answered the last scrape's query, else 0", registry=r)
        self.memory_budget = Gauge(
            "smartbcc_memory_budget_bytes", "The memory budget for message data (setting memory_budget), by "
            "state: limit; used, held by all sessions now; peak, the most held at once since the start",
            ["state"], registry=r)
        if budget is not None:
            for state in ("used", "peak", "limit"):
                self.memory_budget.labels(state).set_function(partial(_reading, budget, state))
        # process_resident_memory_bytes and the others of the serving process (Linux), as in the default registry
        ProcessCollector(registry=r)

    def transaction_ended(self, outcome: str, stage: str, code: int | None, reason: str, kept: str,
                          size: int, reply_seconds: float | None) -> None:
        """Count one transaction; ``outcome`` is accepted, refused, deferred or abandoned."""
        if outcome == "accepted":
            self.accepted.labels(kept or "filed").inc()
            self.bytes.inc(size)
        elif outcome == "abandoned":
            self.abandoned.inc()
        else:
            self.refused.labels(stage, str(code or ""), reason).inc()
        if reply_seconds is not None:
            self.reply_seconds.labels(outcome).observe(reply_seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _reading(budget: MemoryBudget, state: str) -> float:
    """One of the budget's figures (used, peak, limit), in bytes, as a scrape reads it."""
    return float(getattr(budget, state))

"""The aiosmtpd hooks: translate the SMTP dialogue into calls on the decisions and the store.

Each hook answers from ``gateway.replies``; nothing here decides policy itself. Any unexpected error
becomes ``451 4.3.0`` (via ``handle_exception`` too), so a sender retries instead of giving up, and a
250 is only sent once the message is durably kept: filed and committed, or (when filing fails for a
reason of its own) in the quarantine; see gateway.handlers.filer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from gateway.mail.address import InvalidAddress, normalize_email
from gateway.auth.author import header_author
from gateway.auth.gate import Antispoof
from gateway.config import Settings
from gateway.handlers.capacity import Capacity
from gateway.handlers.filer import Filer
from gateway.handlers.parsing_pool import IN_PROCESS_LIMIT, Parser
from gateway.handlers.protocol import client_of
from gateway.handlers.transaction import Transaction
from gateway.handlers.limits import SenderRate, automatic_answer, is_own_address, loop_reason
from gateway.mail.message import ParsedMessage
from gateway.replies import (
    ADDRESS_CONFIRMED, AUTHOR_UNCLEAR, BOUNCE_RECEIVED, LOOP_DETECTED, OTHER_COMPANY, SENDER_NOT_AUTHORIZED,
    SENDER_OK, TEMPORARY_FAILURE, TOO_MANY_RECIPIENTS, UNKNOWN_MAILBOX, Refusal, Reply,
)
from gateway.routing.table import route
from gateway.store.database import Database
from gateway.store.faults import FaultLog
from gateway.store.filing import Delivery
from gateway.store.lookup import authorize_sender, resolve_recipient
from gateway.store.models import AlternateAddress
from gateway.services.aliases import mark_verified, status_now
from gateway.services.bounces import file_bounce

log = logging.getLogger("smartbcc.smtp")



def _transaction(session: Any) -> Transaction:
    """The transaction under way, which the protocol opened at MAIL (gateway.handlers.protocol)."""
    transaction: Transaction | None = getattr(session, "transaction", None)
    if transaction is None:
        raise RuntimeError("no transaction under way on this session")
    return transaction


class GatewayHandler:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.antispoof = Antispoof(settings)
        self.faults = FaultLog()
        self.filer = Filer(db, settings, self.faults)
        self.parser = Parser(db.mail_domain, timeout=settings.parse_timeout,
                             memory_limit=settings.parse_memory_limit * 1024 * 1024,
                             spool_dir=settings.spool_dir or None)
        self.rates = SenderRate(settings.sender_hourly_limit, settings.auto_hourly_limit)
        self.capacity = Capacity(settings)      # the process's memory budget and disk room (MAIL asks)

    # -- dialogue ---------------------------------------------------------------------------------

    async def handle_EHLO(self, server, session, envelope, hostname: str, responses: list[str]) -> list[str]:
        session.host_name = hostname
        kept = [line for line in responses[:-1] if not line[4:].upper().startswith("AUTH")]
        return [*kept, "250-PIPELINING", "250 ENHANCEDSTATUSCODES"]

    async def handle_MAIL(self, server, session, envelope, address: str, mail_options: list[str]) -> str:
        no_room = self.capacity.refusal()
        if no_room is not None:
            return self._refuse(session, "MAIL", *no_room)
        sender = "" if address in ("", "<>") else address
        try:
            sender = normalize_email(sender) if sender else ""
        except InvalidAddress:
            sender = address
        if sender and is_own_address(sender, self.db.mail_domain):
            return self._refuse(session, "MAIL", LOOP_DETECTED, f"{sender} is one of the gateway's own addresses")
        _transaction(session).envelope_from = sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return str(SENDER_OK)

    async def handle_RSET(self, server, session, envelope) -> str:
        return "250 2.0.0 OK"          # the protocol ended the transaction (gateway.handlers.protocol)

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list[str]) -> str:
        txn = _transaction(session)
        decision = route(address, self.db.mail_domain)
        if decision.refused:
            return self._refuse(session, "RCPT", decision.reply, f"{address}: {decision.reason}")
        if len(envelope.rcpt_tos) >= self.settings.max_recipients:
            return self._refuse(session, "RCPT", TOO_MANY_RECIPIENTS,
                                f"{address}: over {self.settings.max_recipients} recipients")
        if txn.company_id is not None and decision.slug not in txn.slugs:
            # Another slug than the transaction's, known or not: one answer, and no look-up to time, so a
            # prober learns nothing of which companies exist. The sender retries it alone, and then hears
            # the real answer (with the error limits of gateway.handlers.protocol on every 550).
            return self._refuse(session, "RCPT", OTHER_COMPANY,
                                f"{address}: needs a transaction of its own after {envelope.rcpt_tos}")
        target = await resolve_recipient(self.db, decision)
        if target.company is None:
            return self._refuse(session, "RCPT", target.reply, f"{address}: {target.why}")
        company = target.company
        if txn.company_id is not None and (txn.company_id != company.id
                                           or txn.verify_alias_id != target.verify_alias_id
                                           or txn.bounce_id != target.bounce_id):
            return self._refuse(session, "RCPT", OTHER_COMPANY,
                                f"{address}: needs a transaction of its own after {envelope.rcpt_tos}")
        txn.company_id, txn.company_slug = company.id, company.slug
        txn.antispoof = (company.antispoof_mode or "", company.antispoof_policy or "")
        txn.verify_alias_id = target.verify_alias_id
        txn.bounce_id = target.bounce_id
        txn.slugs.add(decision.slug)
        if target.record is not None and target.record not in txn.addressed:
            txn.addressed.append(target.record)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return str(target.reply)

    async def handle_DATA(self, server, session, envelope) -> str:
        started = time.monotonic()
        deadline = asyncio.get_running_loop().time() + self.settings.data_timeout   # for the final reply
        txn = _transaction(session)
        raw: bytes = envelope.original_content or b""
        try:
            async with asyncio.timeout_at(deadline):
                delivery = await self._admit(session, envelope, txn, raw)
        except Refusal as refusal:
            txn.detail = refusal.detail
            return self._refuse(session, "DATA", refusal.reply, refusal.detail)
        except TimeoutError:
            log.error("%s DATA: deciding took over %g s; answering 451", _peer(session), self.settings.data_timeout)
            txn.detail = "deciding took too long"
            return str(TEMPORARY_FAILURE)
        except Exception as error:
            self.faults.log(log, logging.ERROR, "%s DATA: could not decide on the message; answering 451",
                            _peer(session), error=error)
            txn.detail = repr(error)
            return str(TEMPORARY_FAILURE)
        if isinstance(delivery, str):
            txn.kept = "confirmation" if txn.bounce_id is None else "bounce"
            return delivery
        outcome = await self.filer.file(delivery, deadline)
        if outcome.accepted:
            self.rates.record(_rate_key(delivery.company_id, delivery.authorization.address),
                              automatic_answer(delivery.parsed), time.monotonic())
        if outcome.quarantined is not None:
            txn.kept, txn.detail = "quarantined", f"quarantine entry {outcome.quarantined}"
        if outcome.stored is not None:
            stored = outcome.stored
            txn.kept = "filed" if stored.created else "seen_before"
            txn.message_pk, txn.links_added = stored.message_pk, stored.links_added
            txn.contacts_created = stored.contacts_created
            log.debug("%s accepted message %s (%s) for %s: %s, %d links added, %d contacts created, %.0f ms",
                     _peer(session), stored.message_pk, delivery.parsed.message_id, txn.company_slug,
                     "stored" if stored.created else "seen before", stored.links_added,
                     stored.contacts_created, (time.monotonic() - started) * 1000)
        return outcome.reply

    async def _admit(self, session: Any, envelope: Any, txn: Transaction, raw: bytes) -> Delivery | str:
        """Everything decided before filing: parse, loops, who sends, rate, anti-spoofing (or a Refusal)."""
        parsed = await self._parse(raw, txn.spool)
        txn.message_id = parsed.message_id or ""
        if txn.company_id is None:
            raise Refusal(UNKNOWN_MAILBOX, "no recipient was accepted")
        from_count = parsed.header_names.count("from")
        # a small message's header section is read on the loop, as it was parsed there (a thread's round
        # trip cost more than the read); a large one's may take a few ms
        author = (header_author(raw, from_count) if len(raw) <= IN_PROCESS_LIMIT
                  else await asyncio.to_thread(header_author, raw, from_count))
        if txn.verify_alias_id is not None:
            return await self._confirm_alias(session, txn, author.address)
        if txn.bounce_id is not None:
            return await self._file_bounce(session, txn, raw)
        looping = loop_reason(parsed, txn.envelope_from, self.db.mail_domain)
        if looping:
            raise Refusal(LOOP_DETECTED, looping)
        verdict = await authorize_sender(self.db, txn.company_id, txn.envelope_from, author.address, author.problem)
        if not verdict.authorized:
            raise Refusal(AUTHOR_UNCLEAR if author.problem else SENDER_NOT_AUTHORIZED, verdict.reason)
        rate = self.rates.decide(_rate_key(txn.company_id, verdict.address), automatic_answer(parsed),
                                 time.monotonic())
        if rate.reply is not None:
            raise Refusal(rate.reply, f"{verdict.address}: {rate.reason}")
        antispoof = await self.antispoof.judge(txn.company_id, raw, author.address, verdict, txn.envelope_from,
                                               session, txn.antispoof)
        return Delivery(
            company_id=txn.company_id, raw=raw, parsed=parsed, authorization=verdict,
            envelope_from=txn.envelope_from, envelope_rcpts=tuple(envelope.rcpt_tos),
            addressed=tuple(txn.addressed), client_address=_peer(session), antispoof=antispoof,
        )

    async def handle_exception(self, error: Exception) -> str:
        self.faults.log(log, logging.ERROR, "SMTP session error, answering 451", error=error)
        return str(TEMPORARY_FAILURE)

    # -- helpers ----------------------------------------------------------------------------------

    def _refuse(self, session: Any, stage: str, reply: Reply | None, detail: str) -> str:
        assert reply is not None
        log.info("%s %s refused %s: %s", _peer(session), stage, f"{reply.code} {reply.enhanced}", detail)
        return str(reply)

    async def _parse(self, raw: bytes, spooled: str | None = None) -> ParsedMessage:
        return await self.parser.parse(raw, spooled)

    def close(self) -> None:
        """Release what the handler holds beyond the database (the parsing process)."""
        self.parser.close()

    async def _confirm_alias(self, session: Any, txn: Transaction, author: str) -> str:
        """The alternate mailbox answered its confirmation mail: verify it if the sender (envelope, or
        the header From read strictly) is that mailbox."""
        senders = {txn.envelope_from, author} - {""}
        async with self.db.sessions() as db_session, db_session.begin():
            alias = await db_session.get(AlternateAddress, txn.verify_alias_id, with_for_update=True)
            if alias is None or status_now(alias) != "pending":
                raise Refusal(UNKNOWN_MAILBOX, "the confirmation was used or expired meanwhile")
            if alias.email not in senders:
                raise Refusal(SENDER_NOT_AUTHORIZED,
                              f"confirmation for {alias.email} came from {sorted(senders)}")
            mark_verified(alias)
        log.info("%s confirmed alternate address %s (alias %d)", _peer(session), alias.email, alias.id)
        return str(ADDRESS_CONFIRMED)


    async def _file_bounce(self, session: Any, txn: Transaction, raw: bytes) -> str:
        """A report came back to a sent message's own envelope sender: keep it on that message (all of it
        committed before the 250; any failure is a 451, and the reporting server retries)."""
        assert txn.bounce_id is not None
        filed = await file_bounce(self.db, txn.bounce_id, raw, txn.envelope_from)
        txn.message_pk = filed.message_pk
        log.info("%s bounce for sent message %s (outbound %d): %s", _peer(session), filed.message_pk,
                 filed.outbound_id, "delivery failed" if filed.failed else "no failure reported")
        return str(BOUNCE_RECEIVED)


def _peer(session: Any) -> str:
    return client_of(getattr(session, "peer", None))


def _rate_key(company_id: int, sender: str) -> str:
    """Senders are counted per company: the address that authorized the message."""
    return f"{company_id}:{sender}"

"""An alternate sender address's standing and its one-time codes: pure, no database, no mail.

Adding an alternate address sends it a confirmation (gateway.services.aliases) with a code and a reply
address (gateway.routing.bcc_address.verify_address). The address is verified when someone enters the
code (`smartbcc alias verify CODE`) or when the alternate mailbox replies to that address through the
gateway's own SMTP path. Codes are stored only as keyed hashes and expire; a resend makes a new code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

CODE_DIGITS = 8


def alias_status(status: str, code_expires_at: datetime | None, now: datetime) -> str:
    """pending / verified / expired / revoked: a pending address whose code ran out by ``now`` is expired."""
    if status == "pending" and code_expires_at is not None and now >= code_expires_at:
        return "expired"
    return status


def new_code() -> str:
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: bytes, code: str) -> str:
    digits = "".join(ch for ch in code if ch.isdigit())
    return hmac.new(key, f"alias-code:{digits}".encode(), hashlib.sha256).hexdigest()

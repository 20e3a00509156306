"""Who may send to a company's addresses: a pure decision over the identities the store knows.

SPEC: the author (header From) or the envelope sender must be the login address of an active user of
the addressed company, or one of that user's verified alternate addresses. That user owns the message.
The author is the one the header From names when read strictly (``gateway.auth.author``); a From that
names no author plainly leaves the envelope sender alone to authorize.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping


@dataclass(frozen=True)
class SenderIdentity:
    """One address the company knows for a user: its login, or an alternate in some state."""

    email: str
    user_id: int
    via: str            # "login" or "alternate"
    status: str         # login: "active" / "inactive"; alternate: "pending" / "verified" / "expired" / "revoked"
    user_active: bool = True

    @property
    def may_send(self) -> bool:
        if not self.user_active:
            return False
        return self.status == "active" if self.via == "login" else self.status == "verified"


@dataclass(frozen=True)
class Authorization:
    authorized: bool
    user_id: int | None
    address: str
    matched: str        # "header-from", "envelope-sender", or "" when refused
    reason: str


def authorize(
    envelope_sender: str,
    header_from: Iterable[str],
    identities: Mapping[str, SenderIdentity],
    header_problem: str = "",
) -> Authorization:
    """Decide from normalized addresses; the author is tried before the envelope sender.
    ``header_problem``: why the header From names no author, for the reason of a refusal."""
    candidates = [("header-from", address) for address in header_from]
    if envelope_sender:
        candidates.append(("envelope-sender", envelope_sender))
    refusals = [f"header From not used: {header_problem}"] if header_problem else []
    for matched, address in candidates:
        identity = identities.get(address)
        if identity is None:
            refusals.append(f"{address} ({matched}) is not a user's address")
        elif identity.may_send:
            return Authorization(True, identity.user_id, address, matched,
                                 f"{address} is user {identity.user_id}'s {identity.via} address")
        elif not identity.user_active:
            refusals.append(f"{address} ({matched}) belongs to deactivated user {identity.user_id}")
        else:
            refusals.append(f"{address} ({matched}) is a {identity.status} alternate address")
    reason = "; ".join(refusals) or "no sender address given"
    return Authorization(False, None, "", "", reason)


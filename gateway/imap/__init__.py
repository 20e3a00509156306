"""The IMAP side of a connected mailbox, over IMAPClient (synchronous: every call here blocks, so callers
run it in a thread, gateway.sync).

:func:`open_session` connects with implicit TLS or STARTTLS (certificates verified, against a private CA
when one is given) and signs in, turning each way it can fail into one error an owner understands:
:class:`LoginRefused` (the credentials), :class:`Unreachable` (down, slow, dropped, or TLS refused).
:func:`folders` names each folder's role from its SPECIAL-USE flags, else from its usual names.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

SECURITIES = ("tls", "starttls")
DEFAULT_PORTS = {"tls": 993, "starttls": 143}
# folders not mirrored: drafts are not mail, and "All Mail" or "Flagged" hold copies of the others
SKIPPED_FLAGS = {b"\\Noselect", b"\\NonExistent", b"\\Drafts", b"\\All", b"\\Flagged"}
ROLE_FLAGS = {b"\\Sent": "sent", b"\\Junk": "spam", b"\\Trash": "trash"}
ROLE_NAMES = {"sent": "sent", "sent items": "sent", "sent messages": "sent", "sent mail": "sent",
              "junk": "spam", "spam": "spam", "junk e-mail": "spam", "junk email": "spam",
              "trash": "trash", "deleted items": "trash", "deleted messages": "trash", "bin": "trash"}
SKIPPED_NAMES = {"drafts", "draft", "templates", "outbox"}


class ImapFailure(Exception):
    """The mailbox could not be synced now; the message says why, for its owner (no secret in it)."""


class Unreachable(ImapFailure):
    """The server is down, slow, dropped the connection or refused TLS: retried later."""


class LoginRefused(ImapFailure):
    """The server refused the username or password: nothing more is tried until the owner reconnects."""


@dataclass(frozen=True)
class Account:
    host: str
    port: int
    security: str            # "tls" or "starttls"
    username: str
    password: str
    ca_file: str = ""
    timeout: float = 30.0

    def __repr__(self) -> str:       # never the password, in a log or a traceback
        return f"Account({self.username}@{self.host}:{self.port}, {self.security})"


@dataclass(frozen=True)
class RemoteFolder:
    name: str
    role: str | None         # inbox, sent, spam, trash; None: one of the user's own


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as error:
        raise Unreachable(f"cannot use the CA file {ca_file}: {error}") from None


def open_session(account: Account) -> IMAPClient:
    """A signed-in session; LoginRefused or Unreachable otherwise."""
    where = f"{account.host}:{account.port}"
    context = tls_context(account.ca_file)
    client: IMAPClient | None = None
    try:
        client = IMAPClient(account.host, port=account.port, ssl=account.security == "tls",
                            ssl_context=context, timeout=account.timeout)
        if account.security == "starttls":
            if not client.has_capability("STARTTLS"):
                raise Unreachable(f"{where} does not offer STARTTLS")
            client.starttls(context)
        client.login(account.username, account.password)
        return client
    except LoginError:
        _close(client)
        raise LoginRefused(f"{where} refused the username or password of {account.username}") from None
    except ssl.SSLError as error:
        _close(client)
        raise Unreachable(f"TLS with {where} failed: {getattr(error, 'verify_message', '') or error.reason or error}"
                          ) from None
    except (OSError, socket.timeout) as error:
        _close(client)
        raise Unreachable(f"cannot reach {where}: {error.strerror or error}"
                          if isinstance(error, OSError) and error.strerror else f"cannot reach {where}: {error}"
                          ) from None
    except IMAPClientError as error:
        _close(client)
        raise Unreachable(f"{where} answered: {error}") from None


def _close(client: IMAPClient | None) -> None:
    if client is None:
        return
    try:
        client.logout()
    except Exception:     # noqa: BLE001 - closing a session that failed: nothing more to learn
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass


close = _close


def folders(client: IMAPClient) -> list[RemoteFolder]:
    """The folders to mirror, each with its role (INBOX first); drafts and virtual folders left out."""
    out: list[RemoteFolder] = []
    taken: set[str] = set()
    listed: list[tuple[Any, Any, str]] = client.list_folders()
    for flags, _delimiter, name in listed:
        flagset = set(flags)
        lowered = name.lower()
        if flagset & SKIPPED_FLAGS or lowered in SKIPPED_NAMES:
            continue
        role = "inbox" if lowered == "inbox" else next(
            (r for f, r in ROLE_FLAGS.items() if f in flagset), None) or ROLE_NAMES.get(lowered)
        if role in taken and role != "inbox":
            role = None          # a second "Spam": one of the user's own
        if role:
            taken.add(role)
        out.append(RemoteFolder(name, role))
    return sorted(out, key=lambda f: (f.role != "inbox", f.name.lower()))

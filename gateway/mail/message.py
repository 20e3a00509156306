"""The parsed form of a message: what every later stage reads instead of the raw bytes.

A message is parsed once (:func:`gateway.mail.parsing.parse_message`) and this frozen value is
passed along; nothing after the parser looks at headers again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Mailbox:
    """One address from a header: ``email`` is normalized (gateway.mail.address.normalize_email)."""

    email: str
    name: str = ""


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ForwardedOriginal:
    """The message a user forwarded, as recovered from the forward.

    ``source`` names how it was found: ``rfc822-attachment`` or ``inline-<client>``
    (``inline-gmail``, ``inline-outlook``, ``inline-outlook-2019`` (a reply-style first line under a
    forward subject), ``inline-apple``, ``inline-thunderbird``, ``inline-yahoo`` (the block on one line),
    ``inline-generic``). ``message_id`` is the original's, when the forward names it (an attached
    message always does; an inline block only when the client printed every header).
    """

    sender: Mailbox | None
    to: tuple[Mailbox, ...] = ()
    cc: tuple[Mailbox, ...] = ()
    date: datetime | None = None
    subject: str = ""
    message_id: str = ""
    source: str = ""


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str                 # with angle brackets, as in the header (made up when missing)
    message_id_generated: bool
    content_hash: str               # sha256 hex of the message without trace headers
    size: int                       # bytes as received
    subject: str
    date: datetime | None
    from_: tuple[Mailbox, ...]
    sender: Mailbox | None
    to: tuple[Mailbox, ...]
    cc: tuple[Mailbox, ...]
    reply_to: tuple[Mailbox, ...]
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text_body: str
    html_body: str
    attachments: tuple[Attachment, ...] = ()
    forwarded: ForwardedOriginal | None = None
    auto_generated: str = ""        # why the message counts as machine-made ("" when written by a person)
    header_names: tuple[str, ...] = field(default=(), repr=False)
    sha256: str = ""                # sha256 hex of the bytes as received
    # what the parser's budget cut or skipped (gateway.mail.parsing); () when every field was read whole
    degraded: tuple[str, ...] = ()

    @property
    def author(self) -> Mailbox | None:
        return self.from_[0] if self.from_ else None

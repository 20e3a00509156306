"""A large message's bytes in a private temporary file, written as DATA arrives.

Held in memory, a 20 MB message would be there twice at the end of DATA: its pieces as read, and the
bytes they are joined into. Spooled, the pieces go to the file as they come (each piece forgotten
once written) and the message is read back once, whole. The parsing process then reads the same file
(gateway.handlers.parsing_pool) instead of one written for it. The file is the session's: mode 0600,
removed when the transaction is over, however it ends. It is made in ``folder`` (setting ``spool_dir``),
or in the system's temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from typing import Iterable

SPOOL_AT = 1024 * 1024      # a message goes to a spool once this much of it waits in memory


class Spool:
    def __init__(self, folder: str | None = None) -> None:
        descriptor, self.path = tempfile.mkstemp(prefix="smartbcc-data-", suffix=".eml", dir=folder)
        self._file = os.fdopen(descriptor, "wb")
        self.size = 0        # bytes written so far

    def write(self, pieces: Iterable[bytes]) -> None:
        """Append ``pieces``; once this returns, another process reading the file sees them."""
        pieces = list(pieces)
        self._file.writelines(pieces)
        self._file.flush()
        self.size += sum(map(len, pieces))

    def read(self) -> bytes:
        """The whole message, once it was all written."""
        with open(self.path, "rb") as spooled:
            return spooled.read()

    def remove(self) -> None:
        try:
            self._file.close()
        except OSError:     # what a full disk refused is refused again as the file closes: it goes anyway
            pass
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def spool(raw: bytes, folder: str | None = None) -> Spool:
    """``raw`` in a spool of its own, in ``folder`` (None: the system's temporary folder); the caller
    removes it."""
    made = Spool(folder)
    try:
        made.write([raw])
    except BaseException:
        made.remove()
        raise
    return made

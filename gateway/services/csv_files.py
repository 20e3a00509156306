"""Reading a CSV file as other programs write it: its encoding and delimiter found, rows one at a time.

Encodings: a BOM says UTF-8 or UTF-16 (HubSpot and Excel's "Unicode text" are UTF-16); without one, NUL
bytes every other byte say UTF-16 too; text that decodes as UTF-8 is UTF-8; otherwise windows-1251 when
the 8-bit letters make whole words (Russian Bitrix24 portals), windows-1252 when they sit among ASCII
letters (accents). The delimiter is the one of ``, ; TAB |`` found most in the header line, outside quotes,
or the one an Excel ``sep=;`` first line names.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import BinaryIO, Iterator

from gateway.services.errors import ServiceError

SAMPLE = 65536
DELIMITERS = ",;\t|"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DELIMITER_WORDS = {**{name: d for d, name in DELIMITER_NAMES.items()}, "\\t": "\t"}     # --delimiter tab
_HIGH_WORD = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")
_QUOTED = re.compile(r'"[^"]*"')


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    pairs = len(sample) // 2 or 1
    if sample[1::2].count(0) > pairs // 3:
        return "utf-16-le"
    if sample[0::2].count(0) > pairs // 3:
        return "utf-16-be"
    whole = sample if len(sample) < SAMPLE else sample[:sample.rfind(b"\n") + 1] or sample[:-4]
    try:
        whole.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    high = letters = 0
    for word in _HIGH_WORD.findall(sample):
        high += sum(1 for byte in word if byte >= 0x80)
        letters += len(word)
    return "cp1251" if letters and high * 2 > letters else "cp1252"


def detect_delimiter(header_line: str) -> str:
    unquoted = _QUOTED.sub("", header_line)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class CsvFile:
    """One CSV file read row by row; ``position`` is how many bytes have been read (for a progress bar)."""

    def __init__(self, path: Path, encoding: str | None = None, delimiter: str | None = None) -> None:
        self.path = path
        try:
            self.binary: BinaryIO = open(path, "rb")
        except OSError as error:
            raise ServiceError(f"cannot read {path}: {error.strerror or error}") from None
        sample = self.binary.read(SAMPLE)
        self.binary.seek(0)
        self.size = path.stat().st_size
        self.encoding = encoding or detect_encoding(sample)
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            self.close()
            raise ServiceError(f"unknown encoding {self.encoding!r} (utf-8, utf-16, cp1251, cp1252, latin-1...)")
        self.text = io.TextIOWrapper(self.binary, encoding=self.encoding, newline="")
        head = sample.decode(self.encoding, errors="ignore").lstrip("\ufeff").splitlines()
        given = DELIMITER_WORDS.get(delimiter or "", delimiter)
        self.offset = 0
        if head and len(head[0].strip()) == 5 and head[0].lower().startswith("sep="):   # Excel's "sep=;" line
            given = given or head[0][4]
            self.text.readline()
            self.offset = 1
            head = head[1:]
        self.delimiter = given or detect_delimiter(head[0] if head else "")
        if len(self.delimiter) != 1:
            self.close()
            raise ServiceError(f"the delimiter is one character, not {self.delimiter!r}")
        self.reader = csv.reader(self.text, delimiter=self.delimiter)
        self.line = 0

    @property
    def position(self) -> int:
        return self.binary.tell()

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(first line number of the row, its cells) for each row that is not empty; NUL characters
        (which no database column takes) are dropped."""
        while True:
            start = self.reader.line_num + 1 + self.offset
            try:
                row = next(self.reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ServiceError(f"{self.path}: after line {self.reader.line_num + self.offset} the file is not "
                                   f"{self.encoding} text; say which encoding it is with --encoding") from None
            except csv.Error as error:
                raise ServiceError(f"{self.path}: line {start}: {error}") from None
            if any(cell.strip() for cell in row):
                yield start, [cell.replace("\x00", "") for cell in row]

    def close(self) -> None:
        text = getattr(self, "text", None)
        (text or self.binary).close()

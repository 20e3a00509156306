"""A large message goes to a private temporary file as DATA arrives (gateway.handlers.spool): it is stored
byte for byte, dots unstuffed across every chunk, and the file is gone when the transaction is over,
whether it was filed, refused for its size or cut off by the client."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from gateway.handlers.spool import SPOOL_AT
from gateway.store.models import Message
from tests.support.gwtest import ThreadedGateway, count, messages, seed
from tests.support.rawsmtp import Raw, message, wait_for


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def big_message(size: int) -> bytes:
    """Lines that start with dots here and there (stuffed in transit), beyond ``size`` bytes."""
    lines = [(f".line {n} " if n % 7 == 0 else f"line {n} ").encode() + b"x" * 60 + b"\r\n"
             for n in range(size // 70 + 1)]
    return message(subject="Spooled", body="see below\n") + b"".join(lines)


def stuffed(content: bytes) -> bytes:
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in content.split(b"\r\n"))


def spools(folder: Path, within: float = 5.0) -> list[Path]:
    """The spool files left in ``folder``, once the server had ``within`` seconds to remove them."""
    deadline = time.monotonic() + within
    while (left := list(folder.glob("smartbcc-*"))) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_a_large_message_is_spooled_stored_exactly_and_its_file_removed(settings, private_tmp):
    seed(settings)
    raw = big_message(3 * SPOOL_AT)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.cmd("DATA")[0] == 354
        smtp.send(stuffed(raw) + b".\r\n")
        assert smtp.reply()[0] == 250
        assert smtp.cmd("NOOP")[0] == 250
    [stored] = messages(settings)
    assert stored.raw == raw and stored.subject == "Spooled"
    assert spools(private_tmp) == []


def test_a_large_message_over_the_size_limit_is_552_and_its_spool_removed(settings, private_tmp):
    settings = settings.replace(max_message_size=int(2.5 * SPOOL_AT))
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.cmd("DATA")[0] == 354
        smtp.send(stuffed(big_message(4 * SPOOL_AT)) + b".\r\n")
        code, text = smtp.reply()
        assert code == 552, text
        assert smtp.cmd("NOOP")[0] == 250
    assert count(settings, Message) == 0
    assert spools(private_tmp) == []


def test_a_client_gone_in_the_middle_of_a_large_message_leaves_no_spool(settings, private_tmp):
    seed(settings)
    with ThreadedGateway(settings) as gateway:
        with Raw(gateway.host, gateway.port) as smtp:
            smtp.envelope()
            assert smtp.cmd("DATA")[0] == 354
            smtp.send(stuffed(big_message(3 * SPOOL_AT)))     # no end of data: then the connection drops
            assert wait_for(lambda: list(private_tmp.glob("smartbcc-*"))), "the message was being spooled"
        assert spools(private_tmp) == []
    assert count(settings, Message) == 0

"""Big messages are parsed in the worker process, handed over through a temporary file that goes away."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from gateway.handlers import parsing_pool
from gateway.handlers.parsing_pool import Parser
from gateway.mail.parsing import parse_message


def _big_message(size: int) -> bytes:
    head = (b"From: Ada <ada@acme.example>\r\nTo: Bob <bob@customer.example>\r\n"
            b"Subject: the big one\r\nMessage-ID: <big.1@acme.example>\r\n\r\n")
    line = b"x" * 76 + b"\r\n"
    return head + line * (size // len(line))


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


async def test_a_big_message_is_parsed_in_the_worker_and_its_spool_file_removed(private_tmp: Path) -> None:
    raw = _big_message(2 * 1024 * 1024)
    parser = Parser("bcc.example.net")
    try:
        parsed = await parser.parse(raw)
        assert parser.pids() and not parser._broken
    finally:
        parser.close()
    assert parsed == parse_message(raw, mail_domain="bcc.example.net")
    assert parsed.subject == "the big one" and parsed.message_id == "<big.1@acme.example>"
    assert list(private_tmp.glob("smartbcc-*")) == []


async def test_a_message_spooled_already_is_read_from_its_file_which_stays(private_tmp: Path) -> None:
    raw = _big_message(2 * 1024 * 1024)
    spooled = private_tmp / "given.eml"
    spooled.write_bytes(raw.replace(b"the big one", b"from the file"))
    parser = Parser("bcc.example.net")
    try:
        parsed = await parser.parse(raw, str(spooled))
    finally:
        parser.close()
    assert parsed.subject == "from the file"       # the worker read the file, not the bytes
    assert spooled.exists() and list(private_tmp.glob("smartbcc-*")) == []


async def test_without_room_for_the_spool_file_the_bytes_go_through_the_pipe(
        private_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_room(raw: bytes, folder: str | None = None) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(parsing_pool, "spool", no_room)
    raw = _big_message(parsing_pool.IN_PROCESS_LIMIT * 2)
    parser = Parser("bcc.example.net")
    try:
        parsed = await parser.parse(raw)
        assert not parser._broken
    finally:
        parser.close()
    assert parsed.subject == "the big one"


def test_the_spool_file_is_private(private_tmp: Path) -> None:
    made = parsing_pool.spool(b"hello")
    path = Path(made.path)
    try:
        assert path.parent == private_tmp and path.read_bytes() == b"hello" and made.read() == b"hello"
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        made.remove()
    assert not path.exists()


async def test_the_parsing_process_gives_way_to_the_serving_one(private_tmp: Path) -> None:
    parser = Parser("bcc.example.net")
    try:
        await parser.parse(_big_message(2 * 1024 * 1024))
        [pid] = parser.pids()
        worker = os.getpriority(os.PRIO_PROCESS, pid)
    finally:
        parser.close()
    assert worker == min(19, os.nice(0) + parsing_pool.NICENESS)


@pytest.mark.parametrize("main, preloaded", [
    ("gateway.cli", ["__main__", "gateway.handlers.parsing_pool", "gateway.cli"]),   # python -m gateway.cli
    ("pytest.__main__", ["__main__", "gateway.handlers.parsing_pool"]),              # python -m pytest: not run
    (None, ["__main__", "gateway.handlers.parsing_pool"]),                           # a script, the console script
])
def test_the_fork_server_imports_the_parser_and_a_main_module_run_by_name(
        main: str | None, preloaded: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker is forked with them imported: a worker of `python -m gateway.cli serve` would otherwise
    import the whole command line again as its main module (0.7 s of CPU, against 0.02 s)."""
    import sys
    import types

    module = types.ModuleType("__main__")
    module.__spec__ = types.SimpleNamespace(name=main) if main else None    # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", module)
    assert parsing_pool._preload() == preloaded

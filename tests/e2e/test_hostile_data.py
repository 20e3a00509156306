"""The data of DATA against the real server, in raw bytes: a full disk, a failing spool, the memory budget
shared by all sessions, long lines and bare LFs.

Whatever fails while a message arrives, the gateway reads the data to its end and answers once: no byte
of message data is ever run as a command, and nothing of a failed transaction is filed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.gwtest import ThreadedGateway, messages, seed
from tests.support.rawsmtp import COMPANY, USER, Raw, message, wait_for
from tests.support.replies import assert_reply

FORGED = (f"MAIL FROM:<{USER}>\r\nRCPT TO:<{COMPANY}>\r\nDATA\r\n"
          f"From: {USER}\r\nTo: bob@customer.example\r\nSubject: FORGED\r\n\r\nforged body\r\n").encode()


def filler(size: int) -> bytes:
    """``size`` bytes of short CRLF lines, no dots."""
    line = b"f" * 78 + b"\r\n"
    return line * (size // len(line)) + b"g" * (size % len(line))


def carrier(before_forgery: int) -> bytes:
    """A message whose first ``before_forgery`` bytes are plain, then forged commands over more than
    two reads' worth (256 KiB each): where the data stopped being read, commands would follow."""
    head = message(subject="carrier").rstrip(b"\r\n") + b"\r\n"
    return head + filler(before_forgery - len(head)) + b"\r\n" + FORGED * 4000


def assert_one_451_then_a_fresh_session(smtp: Raw, enhanced: str) -> None:
    code, text = smtp.reply()
    assert (code, text[:5]) == (451, enhanced), text
    assert smtp.cmd("NOOP") == (250, "2.0.0 OK")           # the next reply answers the next command
    code, text = smtp.cmd(f"RCPT TO:<{COMPANY}>")            # the envelope was reset
    assert_reply((code, text), "503 5.5.1")


# -- a failure while the data comes -----------------------------------------------------------------------

def test_a_spool_that_fails_mid_data_is_one_451_and_the_rest_never_becomes_commands(settings, tmp_path):
    not_a_folder = tmp_path / "spool"
    not_a_folder.write_text("a file where the spool folder should be")
    settings = settings.replace(spool_dir=str(not_a_folder))
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.cmd("DATA")[0] == 354
        smtp.send(carrier(1024 * 1024 + 4096) + b".\r\n")
        assert_one_451_then_a_fresh_session(smtp, "4.3.0")
    assert messages(settings) == []


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 4 MiB file system of its own (tmpfs): filled on purpose, it answers ENOSPC."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if shutil.which("mount") is None or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Fill ``folder``'s file system until ``leave`` bytes are free."""
    stats = os.statvfs(folder)
    free = stats.f_bavail * stats.f_frsize
    filler_file = folder / "filler"
    with open(filler_file, "ab") as out:
        out.write(b"\0" * max(0, free - leave))
    return filler_file


def test_a_disk_filling_up_mid_data_is_one_451_4_3_1_and_nothing_forged_is_filed(sqlite_settings, tiny_disk):
    settings = sqlite_settings.replace(spool_dir=str(tiny_disk), max_message_size=2_000_000)
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()                                      # 4 MiB free: room for 1.5 messages at MAIL
        filler_file = fill(tiny_disk, 512 * 1024)            # then something else takes the disk
        assert smtp.cmd("DATA")[0] == 354
        smtp.send(carrier(1_200_000) + b".\r\n")
        assert_one_451_then_a_fresh_session(smtp, "4.3.1")
        code, text = smtp.cmd(f"MAIL FROM:<{USER}>")        # below 1.5 size limits free: 452 at MAIL
        assert (code, text) == (452, "4.3.1 Insufficient system storage")
        filler_file.unlink()
        smtp.envelope()
        assert smtp.data(message(subject="room again"))[0] == 250
    assert [m.subject for m in messages(settings)] == ["room again"]
    assert os.listdir(tiny_disk) == []                       # no spool left behind


def test_mail_is_452_4_3_1_when_the_disk_has_not_1_5_size_limits_free(sqlite_settings):
    settings = sqlite_settings.replace(max_message_size=1 << 60, memory_budget=1 << 60)   # an exabyte
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.ehlo()
        code, text = smtp.cmd(f"MAIL FROM:<{USER}>")
        assert (code, text) == (452, "4.3.1 Insufficient system storage")
        code, text = smtp.cmd(f"RCPT TO:<{COMPANY}>")
        assert_reply((code, text), "503 5.5.1")
    assert messages(settings) == []


def test_a_medium_message_is_spooled_for_the_parsing_process_in_spool_dir(sqlite_settings, tmp_path):
    """A 300 kB message is held in memory while it arrives (under a spool's worth), then written to a file
    for the parsing process: in ``spool_dir``, not the system's temporary folder. The file comes and goes
    while the message is filed; the folder's modification time shows it was there."""
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    os.utime(spool_dir, (946684800, 946684800))                # 2000-01-01: any file made there moves it
    settings = sqlite_settings.replace(spool_dir=str(spool_dir))
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.data(message(subject="medium").rstrip(b"\r\n") + b"\r\n" + filler(300_000))[0] == 250
        assert gateway.gateway.handler.parser.pids(), "parsed in the parsing process"
    assert [m.subject for m in messages(settings)] == ["medium"]
    assert os.stat(spool_dir).st_mtime > 946684800
    assert os.listdir(spool_dir) == []


# -- the memory budget ------------------------------------------------------------------------------------

def test_the_memory_budget_defers_mail_and_data_and_lets_them_in_once_there_is_room(sqlite_settings):
    """Budget 700 kB, size limit 300 kB; a message held whole counts twice. A holds 280 kB mid-DATA: B's
    MAIL is 452 4.3.1 (no room for a whole message twice); C, whose MAIL came before, finishes a 250 kB
    message that cannot be held whole: 451 4.3.1 after its data. A's own message goes in; then B and C do
    too."""
    settings = sqlite_settings.replace(memory_budget=700_000, max_message_size=300_000)
    seed(settings)
    with ThreadedGateway(settings) as gateway, \
            Raw(gateway.host, gateway.port) as a, Raw(gateway.host, gateway.port) as b, \
            Raw(gateway.host, gateway.port) as c:
        budget = gateway.gateway.handler.capacity.budget
        c.envelope()
        a.envelope()
        assert a.cmd("DATA")[0] == 354
        held = message(subject="A").rstrip(b"\r\n") + b"\r\n" + filler(280_000)
        a.send(held)
        assert wait_for(lambda: budget.used >= len(held)), budget.used
        b.ehlo()
        code, text = b.cmd(f"MAIL FROM:<{USER}>")
        assert (code, text) == (452, "4.3.1 Insufficient system resources, try again later")
        code, text = c.data(message(subject="C", body="c" * 70 + "\n" + "c\n" * 83_000))
        assert (code, text) == (451, "4.3.1 Insufficient system resources, try again later")
        assert c.cmd("NOOP") == (250, "2.0.0 OK")
        a.send(b"\r\n.\r\n")
        assert a.reply()[0] == 250
        assert wait_for(lambda: budget.used == 0), budget.used      # released as the transaction ends
        b.envelope()
        assert b.data(message(subject="B"))[0] == 250
        c.envelope()
        assert c.data(message(subject="C", body="c" * 70 + "\n" + "c\n" * 83_000))[0] == 250
        assert budget.peak <= budget.limit
    assert sorted(m.subject for m in messages(settings)) == ["A", "B", "C"]


# -- long lines and bare LFs ------------------------------------------------------------------------------

def test_long_lines_as_outlook_sends_them_are_filed_byte_for_byte(settings):
    seed(settings)
    content = (message(subject="long lines").rstrip(b"\r\n") + b"\r\n" + b"<p>" + b"a" * 4096 + b"</p>\r\n"
               + b"b" * 11_000 + b"\r\n" + b"c" * (64 * 1024 - 2) + b"\r\n")
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        assert smtp.data(content)[0] == 250
    [stored] = messages(settings)
    assert stored.raw == content


def test_a_line_over_the_bound_is_500_5_5_2_after_the_data_and_the_session_goes_on(sqlite_settings):
    settings = sqlite_settings.replace(max_line_length=64 * 1024)
    seed(settings)
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        code, text = smtp.data(message().rstrip(b"\r\n") + b"\r\n" + b"x" * (64 * 1024 - 1) + b"\r\n" + FORGED)
        assert (code, text) == (500, "5.5.2 Line too long in the message data")
        assert smtp.cmd("NOOP") == (250, "2.0.0 OK")
        smtp.envelope()
        assert smtp.data(message(subject="fine"))[0] == 250
    assert [m.subject for m in messages(settings)] == ["fine"]


def test_bare_lf_line_ends_beyond_the_bound_are_refused_as_bare_lf_not_as_a_long_line(sqlite_settings):
    settings = sqlite_settings.replace(max_line_length=4096)
    seed(settings)
    bare = message(subject="bare LF", body="a short line\n" * 1000).replace(b"\r\n", b"\n")
    with ThreadedGateway(settings) as gateway, Raw(gateway.host, gateway.port) as smtp:
        smtp.envelope()
        code, text = smtp.data(bare)
        assert (code, text) == (500, "5.5.2 Bare LF in the message data: lines must end with CRLF")
        assert smtp.cmd("NOOP") == (250, "2.0.0 OK")
    assert messages(settings) == []

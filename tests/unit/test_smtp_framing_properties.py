"""SMTP DATA framing as a property (hypothesis): whatever bytes a message holds (bare CR, bare LF, dots,
NUL, smuggled commands), a client that stuffs dots as RFC 5321 asks gets exactly one transaction whose
content is exactly its message: the framing functions alone, fed the bytes cut into chunks at random
places. (The real protocol class on a loopback port: tests/integration/test_smtp_framing_wire.py.)"""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from gateway.handlers.framing import START, DataFramer, Overrun, line_lengths, lines_fit, unstuff
from tests.support.messages import FRAGMENTS, stuff


# -- the framing functions alone (gateway.handlers.framing): chunks cut anywhere -------------------------

WIRE_FRAGMENTS = st.one_of(FRAGMENTS, st.binary(max_size=12))
FAKE_ENDS = [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\n.\r", b"\r\n\x00.\r\n",
             b"\r\n .\r\n", b"\r\n..\r\n"]


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` in chunks, cut at ``points`` (positions in it, any order, repeats allowed)."""
    edges = sorted({0, len(data), *(p % (len(data) + 1) for p in points)})
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def frame(chunks: list[bytes], size_limit: int | None = None,
          line_limit: int = 10**9) -> tuple[DataFramer, int, bytes]:
    """Feed ``chunks`` until the end of the data: the framer, the index of the chunk that ended it
    (-1: none did) and what came after the end."""
    framer = DataFramer(size_limit, line_limit)
    for number, chunk in enumerate(chunks):
        end = framer.feed(chunk)
        if end >= 0:
            return framer, number, chunk[end:] + b"".join(chunks[number + 1:])
    return framer, -1, b""


def as_content(body: bytes) -> bytes:
    """A message as DATA carries it: empty, or ending with CRLF."""
    return body if not body or body.endswith(b"\r\n") else body + b"\r\n"


@settings(max_examples=400, deadline=None)
@given(st.lists(WIRE_FRAGMENTS, max_size=30).map(b"".join).map(as_content),
       st.lists(st.integers(min_value=0), max_size=12), st.binary(max_size=30))
def test_a_stuffed_message_cut_anywhere_reads_back_exactly(content, points, after):
    framer, ended, rest = frame(cut(stuff(content) + b".\r\n" + after, points))
    assert ended >= 0
    assert framer.overrun is None
    assert framer.message() == content
    assert rest == after                          # the next command is left for the command loop


@pytest.mark.parametrize("wire", [b".\r\nQUIT\r\n", b"a\r\n.\r\nQUIT\r\n", b"\r\n.\r\nQUIT\r\n",
                                  b"..\r\n.\r\nQUIT\r\n", b"x\r\n..\r\n\r\n.\r\nQUIT\r\n"])
def test_the_end_split_across_chunks_in_every_way_is_found(wire):
    """Every way of cutting the wire into chunks (2**(n-1) of them): the end is found where it is."""
    expected = wire[:wire.index(b"QUIT") - 3]
    for mask in range(2 ** (len(wire) - 1)):
        points = [i + 1 for i in range(len(wire) - 1) if mask >> i & 1]
        framer, ended, rest = frame(cut(wire, points))
        assert ended >= 0 and rest == b"QUIT\r\n", points
        assert framer.size == len(expected), points
        assert framer.message() == unstuff(expected), points


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FAKE_ENDS), WIRE_FRAGMENTS), max_size=30).map(b"".join),
       st.lists(st.integers(min_value=0), max_size=12))
def test_no_smuggling_vector_ends_the_data(body, points):
    """Bytes without <CR><LF>.<CR><LF> (nor a first line "."), however cut, never end the data."""
    wire = stuff(body)
    framer, ended, _ = frame(cut(wire, points))
    assert ended == -1
    for chunk in cut(b"\r\n.\r\n", points):       # then the true end, cut too
        ended = framer.feed(chunk)
    assert ended >= 0
    assert framer.message() == body + b"\r\n"


@pytest.mark.parametrize("fake_end", FAKE_ENDS)
def test_each_fake_end_stays_in_the_message(fake_end):
    content = b"Subject: carrier\r\n\r\nbody" + fake_end + SMUGGLED_TAIL
    wire = stuff(content)
    for size in (1, 2, 3, 5, 4096):
        chunks = [wire[i:i + size] for i in range(0, len(wire), size)]
        framer, ended, _ = frame(chunks)
        assert ended == -1
        assert framer.feed(b".\r\n") == 3
        assert framer.message() == content


SMUGGLED_TAIL = b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<x@bcc.example.net>\r\nDATA\r\nSubject: evil\r\n\r\n"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=200))
def test_unstuff_undoes_stuffing(first, second):
    content = b"\r\n.".join([first, second])
    assert unstuff(stuff(content)) == content


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b".", b"..", b"\r", b"\n", b"\r\n"]), max_size=40).map(b"".join))
def test_unstuff_drops_the_first_dot_of_each_line_like_aiosmtpd(wire):
    """aiosmtpd's rule, line by line: any line that begins with a dot loses it (stuffed or not)."""
    lines = wire.split(b"\r\n")
    assert unstuff(wire) == b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"bc", b"."]), max_size=60).map(b"".join),
       st.lists(st.integers(min_value=0), max_size=12))
def test_line_lengths_do_not_depend_on_where_the_chunks_are_cut(data, points):
    whole = data.split(b"\r\n")
    closed, left_open, tail = [], 0, b"\r\n"
    for chunk in cut(data, points):
        more, left_open = line_lengths(left_open, tail.endswith(b"\r"), chunk)
        closed += more
        tail = (tail + chunk)[-4:]
    assert closed == [len(line) + 2 for line in whole[:-1]]
    assert left_open == len(whole[-1])


def first_overrun(wire: bytes, size_limit: int, line_limit: int) -> Overrun | None:
    """The reference: the limit whose first byte beyond it comes first (the size limit on a tie); a line
    too long that holds a bare LF is told apart."""
    beyond_size = size_limit if len(wire) > size_limit else None
    beyond_line, start, long_line = None, 0, b""
    for line in wire.split(b"\r\n")[:-1]:
        if len(line) + 2 > line_limit:
            beyond_line, long_line = start + line_limit, line
            break
        start += len(line) + 2
    if beyond_line is not None and (beyond_size is None or beyond_line < beyond_size):
        return Overrun.BARE_LF if b"\n" in long_line else Overrun.TOO_LONG
    return Overrun.TOO_MUCH if beyond_size is not None else None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"bcdefgh", b"\r\n", b".", b"\r", b"\n", b"x" * 17]), max_size=40)
       .map(b"".join).map(as_content),
       st.integers(min_value=1, max_value=150), st.integers(min_value=3, max_value=30),
       st.lists(st.integers(min_value=0), max_size=10))
def test_limits_are_enforced_as_the_data_arrives_and_the_first_overrun_counts(content, size_limit, line_limit,
                                                                             points):
    wire = stuff(content)
    framer, ended, rest = frame(cut(wire + b".\r\nNOOP\r\n", points), size_limit, line_limit)
    assert ended >= 0 and rest == b"NOOP\r\n"     # an overrun still reads to the end of the data
    assert framer.overrun is first_overrun(wire, size_limit, line_limit)
    if framer.overrun is None:
        assert framer.message() == content


def test_a_message_of_exactly_the_size_limit_passes_and_one_byte_more_does_not():
    wire = b"Subject: x\r\n\r\n" + b"y" * 80 + b"\r\n"
    framer, _, _ = frame([wire + b".\r\n"], size_limit=len(wire))
    assert framer.overrun is None and framer.message() == wire
    framer, _, _ = frame([wire + b".\r\n"], size_limit=len(wire) - 1)
    assert framer.overrun is Overrun.TOO_MUCH


def test_a_line_of_exactly_the_line_limit_passes_and_one_byte_more_does_not():
    line = b"z" * 999 + b"\r\n"                    # aiosmtpd's 1001 bytes, CRLF included
    framer, _, _ = frame([b"a\r\n", line[:500], line[500:] + b".\r\n"], line_limit=1001)
    assert framer.overrun is None
    framer, _, _ = frame([b"a\r\n", b"z" + line[:500], line[500:] + b".\r\n"], line_limit=1001)
    assert framer.overrun is Overrun.TOO_LONG


@settings(max_examples=300, deadline=None)
@given(st.lists(WIRE_FRAGMENTS, max_size=30).map(b"".join), st.lists(st.integers(min_value=0), max_size=12))
def test_unstuffing_piece_by_piece_is_unstuffing_the_whole(data, points):
    pieces, before = [], START
    for piece in cut(data, points):
        pieces.append(unstuff(piece, before))
        before = (before + piece)[-2:]
    assert b"".join(pieces) == unstuff(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(WIRE_FRAGMENTS, max_size=30).map(b"".join).map(as_content),
       st.lists(st.integers(min_value=0), max_size=12), st.sets(st.integers(min_value=0, max_value=40)))
def test_what_is_taken_on_the_way_and_the_rest_are_the_message(content, points, take_after):
    framer, taken = DataFramer(None, 10**9), []
    for number, chunk in enumerate(cut(stuff(content) + b".\r\n", points)):
        if framer.feed(chunk) >= 0:
            break
        if number in take_after:
            pending, pieces = framer.pending, framer.take()
            assert sum(map(len, pieces)) == pending and framer.pending == 0
            taken += pieces
    assert b"".join(taken) + framer.message() == content


@settings(max_examples=600, deadline=None)
@given(st.integers(min_value=0, max_value=30), st.booleans(),
       st.lists(st.one_of(WIRE_FRAGMENTS, st.sampled_from([b"a" * 9, b"b" * 17])), max_size=25).map(b"".join),
       st.integers(min_value=2, max_value=30))
def test_lines_fit_says_what_the_line_lengths_say(open_line, after_cr, chunk, limit):
    closed, left_open = line_lengths(open_line, after_cr, chunk)
    fit, open_after = lines_fit(open_line, after_cr, chunk, limit)
    assert fit == (all(length <= limit for length in closed) and left_open <= limit)
    if fit:
        assert open_after == left_open

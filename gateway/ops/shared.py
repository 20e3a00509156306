"""The gateway's bounds held across worker processes (``smartbcc serve --workers N``), in shared memory.

The session bounds, the per-sender hourly bounds and the memory budget are the whole gateway's, however
many processes serve: 200 sessions means 200 in all, not 200 per worker. Splitting each bound N ways
would refuse too early wherever the load is uneven (a sender's mail lands on whichever worker accepts
the connection), so the workers share their counts instead, in one file-backed ``mmap`` the supervisor
makes (gateway.supervisor).

Each worker owns one row and is the only writer of it (from its event loop); a reading sums the rows.
Nothing is locked: to take a place a worker counts it in its own row first, then reads the sum, and
takes it back if the sum went over the bound. Two workers racing for the last place may then both
refuse (one could have had it), never both accept: the bounds hold, they are never exceeded. When a
worker dies its row's sessions and memory are cleared by the supervisor before it is replaced; its
senders' counts stay, as the mail it accepted does.

Counts per client address and per sender are kept in hashed slots, two slots a key (a count-min
sketch: the smaller of the two counts is taken), so memory stays fixed whatever the number of clients;
two keys that share both slots would see each other's counts and be bounded sooner, never later.
Sender counts are kept by the minute: the hour is the last 60 minutes, the current one included.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

from gateway.replies import TOO_MANY_SESSIONS, Reply
from gateway.handlers.limits import RateDecision, rate_decision

CLIENT_SLOTS = 4096     # hashed slots for the sessions per client address
SENDER_SLOTS = 2048     # hashed slots for the sender counts, per minute
MINUTES = 60            # the sender bounds' window, in one-minute buckets

STARTING, SERVING, STOPPING = 0, 1, 2     # a worker's state, as /readyz reads it

# one row: state, sessions, memory used, memory peak (int64), then the client slots (int32), the minute
# each bucket holds (int64), then all and automatic messages per bucket and slot (int32)
_HEAD = 4 * 8
_CLIENTS = _HEAD
_MINUTES = _CLIENTS + CLIENT_SLOTS * 4
_ALL = _MINUTES + MINUTES * 8
_AUTO = _ALL + MINUTES * SENDER_SLOTS * 4
ROW = _AUTO + MINUTES * SENDER_SLOTS * 4


def _slots(key: str, width: int) -> tuple[int, int]:
    """The two slots of ``key`` (the same in every process, unlike ``hash()``)."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % width, int.from_bytes(digest[4:], "little") % width


class Row:
    """One worker's part of the shared file."""

    def __init__(self, buffer: memoryview) -> None:
        self.head = buffer[:_HEAD].cast("q")
        self.clients = buffer[_CLIENTS:_MINUTES].cast("i")
        self.minutes = buffer[_MINUTES:_ALL].cast("q")
        self.all = buffer[_ALL:_AUTO].cast("i")
        self.auto = buffer[_AUTO:ROW].cast("i")

    def release(self) -> None:
        for view in (self.head, self.clients, self.minutes, self.all, self.auto):
            view.release()


class SharedState:
    """The shared file, mapped: one :class:`Row` per worker."""

    def __init__(self, path: Path, workers: int) -> None:
        self.path, self.workers = path, workers
        with path.open("r+b") as file:
            self.map = mmap.mmap(file.fileno(), workers * ROW)
        self.view = memoryview(self.map)
        self.rows = [Row(self.view[i * ROW:(i + 1) * ROW]) for i in range(workers)]

    @classmethod
    def create(cls, path: Path, workers: int) -> SharedState:
        """Make the file (zeros, readable by this user alone) and map it."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, workers * ROW)
        finally:
            os.close(fd)
        return cls(path, workers)

    def close(self) -> None:
        for row in self.rows:
            row.release()
        self.view.release()
        try:
            self.map.close()
        except BufferError:      # a view of it still referenced somewhere: the mapping goes with the process
            pass

    # -- read by anyone ----------------------------------------------------------------------------------

    def state(self, worker: int) -> int:
        return self.rows[worker].head[0]

    @property
    def sessions(self) -> int:
        return sum(row.head[1] for row in self.rows)

    @property
    def memory_used(self) -> int:
        return sum(row.head[2] for row in self.rows)

    @property
    def memory_peak(self) -> int:
        return max(row.head[3] for row in self.rows)

    def client_sessions(self, client: str) -> int:
        return min(sum(row.clients[slot] for row in self.rows) for slot in _slots(client, CLIENT_SLOTS))

    def sent(self, sender: str, now: float) -> tuple[int, int]:
        """Messages counted for ``sender`` in the last :data:`MINUTES` minutes: all, and automatic ones."""
        minute = int(now // 60)
        first, second = _slots(sender, SENDER_SLOTS)
        counts = [0, 0, 0, 0]         # all and automatic, in the first slot and in the second
        for row in self.rows:
            minutes, every, auto = row.minutes, row.all, row.auto
            for bucket in range(MINUTES):
                if minute - MINUTES < minutes[bucket] <= minute:
                    at = bucket * SENDER_SLOTS
                    counts[0] += every[at + first]
                    counts[1] += auto[at + first]
                    counts[2] += every[at + second]
                    counts[3] += auto[at + second]
        return min(counts[0], counts[2]), min(counts[1], counts[3])

    # -- written by the supervisor -------------------------------------------------------------------------

    def set_state(self, worker: int, state: int) -> None:
        """Written by the worker itself: starting, serving, stopping."""
        self.rows[worker].head[0] = state

    def clear(self, worker: int) -> None:
        """A worker ended: its sessions and the memory it held are no more (its senders' counts stay)."""
        row = self.rows[worker]
        row.head[0] = row.head[1] = row.head[2] = 0
        for slot in range(CLIENT_SLOTS):
            row.clients[slot] = 0


@dataclass
class _Own:
    shared: SharedState
    worker: int

    @property
    def row(self) -> Row:
        return self.shared.rows[self.worker]


class _ClientCounts(_Own):
    def get(self, client: str, default: int = 0) -> int:
        return self.shared.client_sessions(client)


class SharedSessions(_Own):
    """gateway.handlers.limits.SessionCounter, for the whole gateway."""

    def __init__(self, shared: SharedState, worker: int, max_total: int, max_per_client: int) -> None:
        super().__init__(shared, worker)
        self.max_total, self.max_per_client = max_total, max_per_client
        self.by_client = _ClientCounts(shared, worker)

    @property
    def total(self) -> int:
        return self.shared.sessions

    def admit(self, client: str) -> Reply | None:
        self._add(client, 1)
        if self.shared.sessions > self.max_total or self.shared.client_sessions(client) > self.max_per_client:
            self._add(client, -1)
            return TOO_MANY_SESSIONS
        return None

    def release(self, client: str) -> None:
        self._add(client, -1)

    def _add(self, client: str, change: int) -> None:
        row = self.row
        row.head[1] = max(0, row.head[1] + change)
        for slot in _slots(client, CLIENT_SLOTS):
            row.clients[slot] = max(0, row.clients[slot] + change)


class SharedBudget(_Own):
    """gateway.handlers.capacity.MemoryBudget, for the whole gateway."""

    def __init__(self, shared: SharedState, worker: int, limit: int) -> None:
        super().__init__(shared, worker)
        self.limit = limit

    @property
    def used(self) -> int:
        return self.shared.memory_used

    @property
    def peak(self) -> int:
        return self.shared.memory_peak

    @property
    def available(self) -> int:
        return self.limit - self.shared.memory_used

    def reserve(self, size: int) -> bool:
        head = self.row.head
        head[2] += size
        total = self.shared.memory_used
        if total > self.limit:
            head[2] -= size
            return False
        head[3] = max(head[3], total)
        return True

    def release(self, size: int) -> None:
        head = self.row.head
        head[2] = max(0, head[2] - size)


class SharedSenderRate(_Own):
    """gateway.handlers.limits.SenderRate, for the whole gateway (counted by the minute)."""

    def __init__(self, shared: SharedState, worker: int, sender_limit: int, auto_limit: int) -> None:
        super().__init__(shared, worker)
        self.sender_limit, self.auto_limit = sender_limit, auto_limit

    def decide(self, sender: str, auto_generated: bool, now: float) -> RateDecision:
        sent, automatic = self.shared.sent(sender, now)
        return rate_decision(sent, automatic, auto_generated, self.sender_limit, self.auto_limit)

    def record(self, sender: str, auto_generated: bool, now: float) -> None:
        row, minute = self.row, int(now // 60)
        bucket = minute % MINUTES
        if row.minutes[bucket] != minute:        # a new minute: this bucket's old counts are over an hour old
            start, end = bucket * SENDER_SLOTS * 4, (bucket + 1) * SENDER_SLOTS * 4
            row.all.cast("B")[start:end] = bytes(end - start)
            row.auto.cast("B")[start:end] = bytes(end - start)
            row.minutes[bucket] = minute
        for slot in _slots(sender, SENDER_SLOTS):
            row.all[bucket * SENDER_SLOTS + slot] += 1
            if auto_generated:
                row.auto[bucket * SENDER_SLOTS + slot] += 1

    def prune(self, now: float) -> None:
        """Nothing to do: the buckets are reused minute by minute."""

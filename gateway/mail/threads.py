"""Threads among stored messages: which messages answer which, from Message-ID, In-Reply-To and References.

Two messages are of one thread when one names the other, or both name a common ancestor (the thread's
first message need not be among them: two replies to a message filed elsewhere still join). Pure: plain
data in, groups out, so the record page's timeline and its test see the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Iterable, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Threaded(Generic[T]):
    """One message as threading sees it; ``item`` is whatever the caller shows for it."""

    message_id: str
    refs: tuple[str, ...]        # In-Reply-To and References, in any order
    at: datetime
    item: T


def _key(message_id: str) -> str:
    return message_id.strip().strip("<>").lower()


def group_threads(messages: Iterable[Threaded[T]]) -> list[list[T]]:
    """The messages in threads: each thread newest first, threads by their newest message, newest first."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[key] != root:                       # path compression
            parent[key], key = root, parent[key]
        return root

    items = list(messages)
    for message in items:
        own = find(_key(message.message_id))
        for ref in message.refs:
            if _key(ref):
                other = find(_key(ref))
                if other != own:
                    parent[other] = own
    threads: dict[str, list[Threaded[T]]] = {}
    for message in items:
        threads.setdefault(find(_key(message.message_id)), []).append(message)
    ordered = [sorted(thread, key=lambda m: m.at, reverse=True) for thread in threads.values()]
    ordered.sort(key=lambda thread: thread[0].at, reverse=True)
    return [[m.item for m in thread] for thread in ordered]

"""The request journal: what arrived, what answered it and what was sent, in bounded memory.

Entries are written by the web layer's recorder (one per request on the API and chat
endpoints); the answering core notes the rule and the fault on the current entry through
:data:`CURRENT_ENTRY`, so every dialect's entries say which rule answered. Where entries are
kept is a :class:`JournalStore`: :class:`Journal` (this process) or, with the Redis broker,
one journal every node writes to (:mod:`quart_qa.brokers.redis.journal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

FRAME_LIMIT = 500  # frames kept per entry (the count goes on)
FEED_QUEUE = 256  # entries a slow feed reader may fall behind before it is dropped


@dataclass
class JournalEntry:
    """One request and its response; filled in while the response streams."""

    id: int
    time: float
    method: str
    path: str
    dialect: str
    user: str | None = None
    key: str | None = None
    scenario: str | None = None
    body: Any = None
    rule: str | None = None
    fault: str | None = None
    status: int | None = None
    frames: list[str] = field(default_factory=list)
    frame_count: int = 0
    client_left: bool = False
    done: bool = False
    duration: float | None = None

    def add_frame(self, frame: bytes) -> None:
        """Keep one body chunk as sent (up to :data:`FRAME_LIMIT` of them)."""
        self.frame_count += 1
        if len(self.frames) < FRAME_LIMIT:
            self.frames.append(frame.decode("utf-8", errors="replace"))

    def to_json(self) -> dict[str, Any]:
        """The entry as ``GET /_qa/journal`` shows it."""
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "dialect": self.dialect,
            "user": self.user,
            "key": self.key,
            "scenario": self.scenario,
            "body": self.body,
            "rule": self.rule,
            "fault": self.fault,
            "status": self.status,
            "frames": list(self.frames),
            "frame_count": self.frame_count,
            "client_left": self.client_left,
            "done": self.done,
            "duration": self.duration,
        }


CURRENT_ENTRY: ContextVar[JournalEntry | None] = ContextVar("quart_qa_journal", default=None)


def note_rule(rule: str, fault: str | None) -> None:
    """Say on the current request's entry which rule answered (no-op outside a request)."""
    entry = CURRENT_ENTRY.get()
    if entry is not None:
        entry.rule = rule
        entry.fault = fault


def redact(key: str) -> str:
    """An API key or token shown without its secret part: ``sk-t…42``."""
    if len(key) <= 8:
        return "…"
    return f"{key[:4]}…{key[-2:]}"


@dataclass(frozen=True)
class JournalQuery:
    """``GET /_qa/journal`` filters; None matches anything."""

    path: str | None = None
    user: str | None = None
    scenario: str | None = None
    since: int | None = None  # entries with a larger id
    limit: int | None = None  # the newest this many

    def matches(self, entry: JournalEntry) -> bool:
        """True when ``entry`` passes every filter given."""
        return self.accepts(entry.id, entry.path, entry.user, entry.scenario)

    def accepts(self, id: int, path: str, user: str | None, scenario: str | None) -> bool:
        """True when an entry with these fields passes every filter given."""
        return (
            (self.path is None or path == self.path)
            and (self.user is None or user == self.user)
            and (self.scenario is None or scenario == self.scenario)
            and (self.since is None or id > self.since)
        )


JsonEntry = dict[str, Any]
Feed = AbstractAsyncContextManager[AsyncIterator[JsonEntry | None]]


class JournalStore(Protocol):
    """Where entries are kept: this process (:class:`Journal`) or shared by every node."""

    def open(self, method: str, path: str, dialect: str) -> JournalEntry:
        """A new entry for a request that just arrived."""

    async def close(self, entry: JournalEntry, started: float) -> None:
        """The response ended (or is about to): keep the entry as done, tell the feeds.

        Called before the response's last body message goes out, so a client that has read
        the whole response finds its entry. Closing an entry twice does nothing.
        """

    async def select(self, query: JournalQuery) -> list[JsonEntry]:
        """The entries ``query`` matches, oldest first, as ``GET /_qa/journal`` shows them."""

    async def clear(self) -> int:
        """Forget every entry; returns how many there were."""

    def feed(self, keepalive: float) -> Feed:
        """``async with journal.feed(15) as entries:`` each entry as its response ends (from
        the moment the block is entered), and None after ``keepalive`` seconds without one."""


def finish(entry: JournalEntry, started: float) -> bool:
    """Mark ``entry`` done with its duration; False when it already was."""
    if entry.done:
        return False
    entry.done = True
    entry.duration = round(time.monotonic() - started, 6)
    return True


class Journal:
    """The last ``size`` requests of this process, oldest first, and a feed of finished ones."""

    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self._ids = itertools.count(1)
        self._feeds: set[asyncio.Queue[JournalEntry | None]] = set()

    def open(self, method: str, path: str, dialect: str) -> JournalEntry:
        """A new entry for a request that just arrived (shown at once, not yet done)."""
        entry = JournalEntry(next(self._ids), time.time(), method, path, dialect)
        self._entries.append(entry)
        return entry

    async def close(self, entry: JournalEntry, started: float) -> None:
        """Mark the entry done and hand it to the feeds."""
        if not finish(entry, started):
            return
        for feed in tuple(self._feeds):
            try:
                feed.put_nowait(entry)
            except asyncio.QueueFull:  # a reader that stopped reading loses its feed
                self._feeds.discard(feed)
                with contextlib.suppress(asyncio.QueueFull):
                    feed.get_nowait()
                    feed.put_nowait(None)

    async def select(self, query: JournalQuery) -> list[JsonEntry]:
        """The entries ``query`` matches, oldest first."""
        found = [entry for entry in self._entries if query.matches(entry)]
        return [entry.to_json() for entry in (found[-query.limit :] if query.limit else found)]

    async def clear(self) -> int:
        """Forget every entry; returns how many there were."""
        count = len(self._entries)
        self._entries.clear()
        return count

    @contextlib.asynccontextmanager
    async def feed(self, keepalive: float) -> AsyncIterator[AsyncIterator[JsonEntry | None]]:
        """Each entry as its response ends, None after ``keepalive`` seconds without one. A
        reader that falls :data:`FEED_QUEUE` entries behind is ended."""
        queue: asyncio.Queue[JournalEntry | None] = asyncio.Queue(FEED_QUEUE)
        self._feeds.add(queue)

        async def entries() -> AsyncIterator[JsonEntry | None]:
            while True:
                try:
                    async with asyncio.timeout(keepalive):
                        entry = await queue.get()
                except TimeoutError:
                    yield None
                    continue
                if entry is None:  # dropped for falling behind
                    return
                yield entry.to_json()

        try:
            yield entries()
        finally:
            self._feeds.discard(queue)

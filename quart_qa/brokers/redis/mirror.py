"""This process's copy of a user's Redis stream: local fan-out with stream ids.

The node's single reader (:mod:`quart_qa.brokers.redis.reader`) delivers every entry of the
stream, in order, to the user's :class:`MirroredBroadcast`, which encodes it once with the
stream id as the SSE ``id`` and offers it to the user's local connections, exactly as the
in-memory broadcast does. The mirror keeps the last ``history + 1`` entries (the extra one
marks where the kept history starts), so most resumes are answered without asking Redis;
one that goes back past the mirror's birth is completed from Redis first.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import cast

from ...streaming.broadcast import Broadcast, BroadcastRegistry, Event, Resume
from ...streaming.sse import encode_event
from ...streaming.subscription import Subscription

StreamKey = tuple[int, int]
ZERO: StreamKey = (0, 0)
ZERO_ID = "0-0"
_STREAM_ID = re.compile(r"(\d{1,20})(?:-(\d{1,20}))?")
MAX_PART = 2**64 - 1


class InvalidId:
    """A ``Last-Event-ID`` that no stream ever issued (not ``<ms>-<seq>``)."""


INVALID = InvalidId()


def parse_stream_id(raw: str | None) -> StreamKey | InvalidId | None:
    """The stream position a client resumes after; None for a fresh start."""
    if raw is None or not raw.strip():
        return None
    match = _STREAM_ID.fullmatch(raw.strip())
    if match is None or not raw.strip().isascii():
        return INVALID
    key = (int(match.group(1)), int(match.group(2) or 0))
    return key if max(key) <= MAX_PART else INVALID


def stream_key(stream_id: str) -> StreamKey:
    """``"1700000000000-3"`` as ``(1700000000000, 3)``, which orders like the stream."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry as read from Redis."""

    stream_id: str
    name: str
    data: str

    @property
    def key(self) -> StreamKey:
        return stream_key(self.stream_id)

    def event(self) -> Event:
        """The entry encoded once, with its stream id as the SSE id."""
        frame = encode_event(self.data, event=self.name, event_id=self.stream_id)
        return Event(0, self.name, self.data, frame)


Windowed = tuple[StreamKey, str, Event]


class MirroredBroadcast(Broadcast):
    """A user's local connections, fed from the user's Redis stream."""

    __slots__ = ("_window", "answering", "birth", "cursor", "local_writer", "seeded")

    def __init__(
        self, user_id: str, queue_size: int, history: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__(user_id, queue_size, history, loop)
        self._window: deque[Windowed] = deque(maxlen=history + 1)
        self.cursor = ZERO_ID  # the newest id delivered; the reader reads after it
        self.birth: StreamKey | None = None  # newest id when seeded: older ones are not local
        self.seeded = False
        self.answering = False  # an answer started and has not ended, as far as seen
        self.local_writer = False  # this node's answer delivers the events, not the reader

    def seed(self, newest: Entry | None) -> None:
        """Start from the stream's newest entry (None: the stream is empty or gone)."""
        if newest is not None:
            self._append(newest)
            self.birth = newest.key
            self.cursor = newest.stream_id
            self.answering = newest.name in ("ANSWER_START", "ANSWER_CHUNK")
        self.seeded = True

    def _append(self, entry: Entry) -> bytes:
        event = entry.event()
        self._window.append((entry.key, entry.stream_id, event))
        if entry.name in TERMINAL_EVENTS:
            self.answering = False
        elif entry.name == "ANSWER_START":
            self.answering = True
        return event.frame

    def deliver(self, entry: Entry) -> None:
        """Record the next entry of the stream and offer it to every local connection."""
        frame = self._append(entry)
        self.cursor = entry.stream_id
        dropped = [sub for sub in self._subscribers if not sub.offer(frame)]
        for subscription in dropped:
            self.unsubscribe(subscription)

    def deliver_new(self, entry: Entry) -> None:
        """:meth:`deliver` unless the entry was delivered already (two paths may bring it)."""
        if entry.key > stream_key(self.cursor):
            self.deliver(entry)

    def announce(self, name: str, data: str) -> None:
        """Offer an event without an id to local connections only (say, this node stops)."""
        frame = encode_event(data, event=name)
        for subscription in tuple(self._subscribers):
            subscription.offer(frame)

    async def publish(self, name: str, data: str) -> Event:
        raise TypeError("a mirrored broadcast is written through Redis, not published to")

    def needs_redis(self, after: StreamKey | InvalidId | None) -> bool:
        """Whether resuming after ``after`` needs entries older than this mirror holds."""
        if not isinstance(after, tuple) or self.birth is None or not self._window:
            return False
        return self._window[0][0] == self.birth and after < self.birth

    def subscribe_stream(
        self, after: StreamKey | InvalidId | None, older: Sequence[Entry] = ()
    ) -> tuple[Subscription, Resume]:
        """Add a live connection, with its replay; ``older`` are entries up to the birth.

        Runs without awaiting, so no entry falls between the replay and the live queue.
        """
        subscription = Subscription(self._queue_size, self._loop)
        self._subscribers.add(subscription)
        self.unwatched_since = None
        birth = self.birth
        window = [
            (entry.key, entry.stream_id, entry.event())
            for entry in older
            if birth is None or entry.key < birth
        ]
        window += self._window
        return subscription, plan_resume(after, window, self._history_size, self.cursor)


TERMINAL_EVENTS = frozenset({"ANSWER_END", "ERROR", "ANSWER_CANCELLED"})


def plan_resume(
    after: StreamKey | InvalidId | None,
    window: Sequence[Windowed],
    history: int,
    newest_id: str,
) -> Resume:
    """Where a connection starts, given the newest entries of the stream (oldest first).

    Of the last ``history + 1`` entries the first only marks where the kept history begins;
    an id that is not a stream id, is newer than the stream, or is older than that mark
    (its events are gone) gets ``missed`` and the whole kept history.
    """
    window = window[-(history + 1) :]
    if after is None:
        return Resume(newest_id, (), missed=False)
    boundary = window[0] if len(window) > history else None
    kept = window[1:] if boundary is not None else window
    if isinstance(after, tuple):
        if after == ZERO:
            missed = boundary is not None
        elif not window or after > window[-1][0]:
            missed = True
        else:
            missed = after < window[0][0]
        if not missed:
            replay = tuple(event for key, _, event in kept if key > after)
            return Resume(f"{after[0]}-{after[1]}", replay, missed=False)
    position = boundary[1] if boundary is not None else ZERO_ID
    return Resume(position, tuple(event for _, _, event in kept), missed=True)


class MirrorRegistry(BroadcastRegistry):
    """The node's mirrors; tells the broker when a user's local count changes or ends."""

    broadcast_class = MirroredBroadcast

    def __init__(
        self,
        queue_size: int,
        history: int,
        history_ttl: float,
        on_change: Callable[[str], None],
        on_expire: Callable[[MirroredBroadcast], None],
    ) -> None:
        super().__init__(queue_size, history, history_ttl)
        self._on_change = on_change
        self._on_expire = on_expire

    def mirror(self, user_id: str) -> MirroredBroadcast | None:
        return cast(MirroredBroadcast | None, self.get(user_id))

    def mirrors(self) -> Iterator[MirroredBroadcast]:
        for broadcast in self.broadcasts():
            yield cast(MirroredBroadcast, broadcast)

    def release(self, broadcast: Broadcast) -> None:
        super().release(broadcast)
        self._on_change(broadcast.user_id)

    def _expire(self, broadcast: Broadcast) -> None:
        mine = self.get(broadcast.user_id) is broadcast and broadcast._holds == 0
        super()._expire(broadcast)
        if mine:
            self._on_expire(cast(MirroredBroadcast, broadcast))

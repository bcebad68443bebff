"""Per-user broadcast: fan each event out to every connection of one user, with history.

Plain asyncio, no web framework. Each event is encoded to bytes once and offered to
every subscription's bounded queue; a subscription whose queue is full is closed (its
client reconnects and resumes from history) so one slow reader never delays the others.
A user's broadcast keeps its recent events so a reconnect with ``Last-Event-ID`` misses
nothing; it outlives the user's last connection by ``history_ttl`` seconds, unless the
registry's cap on retained bytes evicts it first (the longest idle go first).

A broadcast's ids start at the wall clock in microseconds, so ids are never reused: not by
a user's next broadcast in this process, nor after a restart. An id from an earlier life
is older than the first id of the new one, and is told apart as unknown.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .sse import encode_numbered_event
from .subscription import CloseReason, Subscription

# What a broadcast costs beyond its events' text (objects, queue slots, dict entries),
# and each kept event beyond its frame and data: estimates, measured on CPython 3.11.
BROADCAST_BYTES = 1024
EVENT_BYTES = 200


def id_origin() -> int:
    """Where a new broadcast's ids start: the wall clock in microseconds (16 digits)."""
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class Event:
    """One published event and its encoded frame."""

    event_id: int
    name: str
    data: str
    frame: bytes

    @property
    def retained_bytes(self) -> int:
        """About what keeping this event in a history costs."""
        return len(self.frame) + len(self.data) + EVENT_BYTES


@dataclass(frozen=True, slots=True)
class Resume:
    """Where a new connection starts: replay these events, then the live stream.

    ``position`` is the id the greeting carries: an int in memory, a stream id with Redis.
    """

    position: int | str
    replay: tuple[Event, ...]
    missed: bool


class Broadcast:
    """Every connection of one user, the id sequence of that user's stream, and its history."""

    __slots__ = (
        "_evicted_through",
        "_expiry",
        "_history",
        "_history_size",
        "_holds",
        "_last_id",
        "_loop",
        "_queue_size",
        "_subscribers",
        "heartbeats_held",
        "on_retained",
        "retained_bytes",
        "unwatched_since",
        "user_id",
    )

    def __init__(
        self, user_id: str, queue_size: int, history: int, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.user_id = user_id
        self._queue_size = queue_size
        self._loop = loop
        self._subscribers: set[Subscription] = set()
        self._history: deque[Event] | None = None  # made by the first event: many users never ask
        self._history_size = history
        # Any id up to the origin is from an earlier broadcast of the user, or another process.
        self._evicted_through = self._last_id = id_origin()
        self._holds = 0
        self._expiry: asyncio.TimerHandle | None = None
        self.unwatched_since: float | None = loop.time()
        self.retained_bytes = BROADCAST_BYTES
        self.on_retained: Callable[[int], None] | None = None
        self.heartbeats_held = False

    @property
    def subscriber_count(self) -> int:
        """Connections of this user receiving live events."""
        return len(self._subscribers)

    @property
    def last_id(self) -> int:
        """The newest id handed out."""
        return self._last_id

    def next_id(self) -> int:
        """Reserve the next event id (used for per-connection events such as CONNECTED)."""
        self._last_id += 1
        return self._last_id

    def unwatched_for(self) -> float:
        """Seconds since the user last had a live connection (0 while they have one)."""
        since = self.unwatched_since
        return 0.0 if since is None else self._loop.time() - since

    async def publish(self, name: str, data: str) -> Event:
        """Record the event and offer it to every connection; drop the ones that overflow."""
        return self._record(name, data, malformed=False)

    def record(self, name: str, data: str) -> Event:
        """:meth:`publish` without an ``await``, for callers on the loop's timer."""
        return self._record(name, data, malformed=False)

    async def publish_malformed(self, name: str, data: str) -> Event:
        """Like :meth:`publish`, but the frame's ``data`` line has no colon: a client's SSE
        parser takes it for an unknown field and never dispatches the event."""
        return self._record(name, data, malformed=True)

    def drop_connections(self) -> None:
        """Cut every connection of the user at once (they reconnect and resume)."""
        for subscription in tuple(self._subscribers):
            subscription.drop()
            self.unsubscribe(subscription)

    def hold_heartbeats(self, held: bool) -> None:
        """While held, the user's connections get no heartbeat (a stall is silent)."""
        self.heartbeats_held = held

    def _record(self, name: str, data: str, *, malformed: bool) -> Event:
        event_id = self._last_id = self._last_id + 1
        frame = encode_numbered_event(data, name, event_id)
        if malformed:
            frame = frame.replace(b"\ndata: ", b"\ndata")
        event = Event(event_id, name, data, frame)
        history = self._history
        if self._history_size:
            if history is None:
                history = self._history = deque(maxlen=self._history_size)
            grown = event.retained_bytes
            if len(history) == self._history_size:
                self._evicted_through = history[0].event_id
                grown -= history[0].retained_bytes
            history.append(event)
            self.retained_bytes += grown
            if self.on_retained is not None:
                self.on_retained(grown)
        else:
            self._evicted_through = event_id
        dropped = [sub for sub in self._subscribers if not sub.offer(frame)]
        for subscription in dropped:
            self.unsubscribe(subscription)
        return event

    def subscribe(self, after: int | None = None) -> tuple[Subscription, Resume]:
        """Add a live connection, with what it must replay first if it resumes after ``after``.

        Runs without awaiting, so no event can fall between the replay and the live queue.
        """
        subscription = Subscription(self._queue_size, self._loop)
        self._subscribers.add(subscription)
        self.unwatched_since = None
        if after is None:
            return subscription, Resume(self.next_id(), (), missed=False)
        if after > self._last_id or after < self._evicted_through:
            replay = tuple(self._history or ())
            position = replay[0].event_id - 1 if replay else self._last_id
            return subscription, Resume(position, replay, missed=True)
        replay = tuple(event for event in self._history or () if event.event_id > after)
        return subscription, Resume(after, replay, missed=False)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a connection (idempotent)."""
        self._subscribers.discard(subscription)
        if not self._subscribers and self.unwatched_since is None:
            self.unwatched_since = self._loop.time()

    def subscriptions(self) -> tuple[Subscription, ...]:
        """A snapshot of the live connections."""
        return tuple(self._subscribers)


class BroadcastRegistry:
    """The broadcast objects of all users.

    A broadcast lives while something holds it (a connection, a running answer) and
    ``history_ttl`` seconds longer, so a reconnect can still resume. While what all of them
    retain is over ``max_retained_bytes`` (0: no cap), the broadcasts nothing holds are
    evicted, the longest idle first; a resume then finds no history and says EVENTS_MISSED.
    """

    broadcast_class: type[Broadcast] = Broadcast

    def __init__(
        self,
        queue_size: int,
        history: int = 0,
        history_ttl: float = 0.0,
        max_retained_bytes: int = 0,
    ) -> None:
        self._queue_size = queue_size
        self._history = history
        self._history_ttl = history_ttl if history else 0.0
        self._max_retained = max_retained_bytes
        self._broadcasts: dict[str, Broadcast] = {}
        self._idle: dict[str, Broadcast] = {}  # held by nothing, longest idle first
        self.connections = 0
        self.closed = 0  # connections closed so far
        self.retained_bytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._broadcasts)

    def get(self, user_id: str) -> Broadcast | None:
        """The user's broadcast if it is alive."""
        return self._broadcasts.get(user_id)

    def acquire(self, user_id: str) -> Broadcast:
        """Hold the user's broadcast (created on first use); pair with :meth:`release`."""
        broadcast = self._broadcasts.get(user_id)
        if broadcast is None:
            loop = asyncio.get_running_loop()
            broadcast = self.broadcast_class(user_id, self._queue_size, self._history, loop)
            broadcast.on_retained = self._retained
            self._broadcasts[user_id] = broadcast
            self._retained(broadcast.retained_bytes)
        else:
            self._idle.pop(user_id, None)
            if broadcast._expiry is not None:
                broadcast._expiry.cancel()
                broadcast._expiry = None
        broadcast._holds += 1
        return broadcast

    def release(self, broadcast: Broadcast) -> None:
        """Drop one hold; the last one starts the history's time to live."""
        broadcast._holds -= 1
        if broadcast._holds:
            return
        if self._history_ttl > 0:
            broadcast._expiry = broadcast._loop.call_later(
                self._history_ttl, self._expire, broadcast
            )
            self._idle[broadcast.user_id] = broadcast
            self._evict_while_over_cap()
        else:
            self._expire(broadcast)

    def _expire(self, broadcast: Broadcast) -> None:
        if broadcast._holds == 0 and self._broadcasts.get(broadcast.user_id) is broadcast:
            del self._broadcasts[broadcast.user_id]
            self._idle.pop(broadcast.user_id, None)
            if broadcast._expiry is not None:
                broadcast._expiry.cancel()
                broadcast._expiry = None
            broadcast.on_retained = None
            self.retained_bytes -= broadcast.retained_bytes

    def _retained(self, grown: int) -> None:
        self.retained_bytes += grown
        if grown > 0:
            self._evict_while_over_cap()

    def _evict_while_over_cap(self) -> None:
        cap = self._max_retained
        while cap and self.retained_bytes > cap and self._idle:
            user_id = next(iter(self._idle))
            self._expire(self._idle.pop(user_id))
            self.evictions += 1

    @contextmanager
    def hold(self, user_id: str) -> Iterator[Broadcast]:
        """Hold the user's broadcast for the block."""
        broadcast = self.acquire(user_id)
        try:
            yield broadcast
        finally:
            self.release(broadcast)

    def open(self, user_id: str, after: int | None = None) -> Connection:
        """Subscribe a new connection; the caller must :meth:`Connection.close` it."""
        broadcast = self.acquire(user_id)
        subscription, resume = broadcast.subscribe(after)
        self.connections += 1
        return Connection(self, broadcast, subscription, resume)

    @contextmanager
    def subscribe(self, user_id: str, after: int | None = None) -> Iterator[Connection]:
        """A connection for the block; closed on every exit path."""
        connection = self.open(user_id, after)
        try:
            yield connection
        finally:
            connection.close()

    def all_subscriptions(self) -> Iterator[Subscription]:
        """Every live connection (for heartbeats and shutdown)."""
        for broadcast in tuple(self._broadcasts.values()):
            yield from broadcast.subscriptions()

    def broadcasts(self) -> tuple[Broadcast, ...]:
        """Every live broadcast."""
        return tuple(self._broadcasts.values())

    def clear(self) -> None:
        """Forget every broadcast and its history (at shutdown)."""
        for broadcast in self._broadcasts.values():
            if broadcast._expiry is not None:
                broadcast._expiry.cancel()
        self._broadcasts.clear()
        self._idle.clear()
        self.retained_bytes = 0


class Connection:
    """One open connection: its subscription, and where it resumes."""

    __slots__ = ("_closed", "_registry", "broadcast", "resume", "subscription")

    def __init__(
        self,
        registry: BroadcastRegistry,
        broadcast: Broadcast,
        subscription: Subscription,
        resume: Resume,
    ) -> None:
        self._registry = registry
        self.broadcast = broadcast
        self.subscription = subscription
        self.resume = resume
        self._closed = False

    def close(self) -> None:
        """Unsubscribe and release the broadcast (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.subscription.close(CloseReason.CLIENT_GONE)
        self.broadcast.unsubscribe(self.subscription)
        self._registry.connections -= 1
        self._registry.closed += 1
        self._registry.release(self.broadcast)

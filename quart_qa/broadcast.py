"""Per-user broadcast: fan each event out to every connection of one user.

Plain asyncio, no web framework. Each event is encoded to bytes once and offered to
every subscription's bounded queue; a subscription whose queue is full is closed
(its client reconnects) so one slow reader never delays the others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .sse import encode_event


@dataclass(frozen=True, slots=True)
class Event:
    """One published event and its encoded frame."""

    event_id: int
    name: str
    data: str
    frame: bytes


class CloseReason:
    """Why a subscription ended (strings, so they read well in logs and metrics)."""

    CLIENT_GONE = "client_gone"
    SLOW_CONSUMER = "slow_consumer"
    LIFETIME = "lifetime"
    SHUTDOWN = "shutdown"


class Subscription:
    """One connection's bounded queue of encoded frames."""

    __slots__ = ("_frames", "_loop", "_maxsize", "_waiter", "close_reason", "idle")

    def __init__(self, maxsize: int) -> None:
        self._frames: deque[bytes] = deque()
        self._maxsize = maxsize
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self.close_reason: str | None = None
        self.idle = True

    @property
    def closed(self) -> bool:
        """True once the subscription will deliver nothing more."""
        return self.close_reason is not None

    def offer(self, frame: bytes) -> bool:
        """Queue ``frame``; on overflow close the subscription and return False."""
        if self.close_reason is not None:
            return False
        if len(self._frames) >= self._maxsize:
            self._frames.clear()
            self.close(CloseReason.SLOW_CONSUMER)
            return False
        self._frames.append(frame)
        self.idle = False
        self._wake()
        return True

    def offer_heartbeat(self, frame: bytes) -> None:
        """Queue a keep-alive unless something was sent since the last heartbeat tick."""
        if not self.idle:
            self.idle = True
        elif self.close_reason is None and not self._frames:
            self._frames.append(frame)
            self._wake()

    def close(self, reason: str) -> None:
        """End the subscription; frames already queued are still delivered."""
        if self.close_reason is None:
            self.close_reason = reason
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next_frames(self, deadline: float | None = None) -> bytes | None:
        """Every queued frame joined, waiting up to ``deadline`` (loop time); None at the end."""
        while not self._frames:
            if self.close_reason is not None:
                return None
            if deadline is not None and self._loop.time() >= deadline:
                self.close(CloseReason.LIFETIME)
                return None
            waiter = self._loop.create_future()
            self._waiter = waiter
            timer = None if deadline is None else self._loop.call_at(deadline, self._wake)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
        frames = self._frames
        if len(frames) == 1:
            return frames.popleft()
        joined = b"".join(frames)
        frames.clear()
        return joined


class Broadcast:
    """Every connection of one user, and the id sequence of that user's stream."""

    def __init__(self, user_id: str, queue_size: int) -> None:
        self.user_id = user_id
        self._queue_size = queue_size
        self._subscribers: set[Subscription] = set()
        self._last_id = 0
        self._holds = 0

    @property
    def subscriber_count(self) -> int:
        """Open connections of this user."""
        return len(self._subscribers)

    def next_id(self) -> int:
        """Reserve the next event id (used for per-connection events such as CONNECTED)."""
        self._last_id += 1
        return self._last_id

    async def publish(self, name: str, data: str) -> Event:
        """Encode once and offer to every connection; drops the ones that overflow."""
        event_id = self.next_id()
        frame = encode_event(data, event=name, event_id=str(event_id))
        event = Event(event_id, name, data, frame)
        dropped = [sub for sub in self._subscribers if not sub.offer(frame)]
        for subscription in dropped:
            self._subscribers.discard(subscription)
        return event

    def subscribe(self) -> Subscription:
        """Add a connection; pair with :meth:`unsubscribe`."""
        subscription = Subscription(self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a connection (idempotent)."""
        self._subscribers.discard(subscription)

    def subscriptions(self) -> tuple[Subscription, ...]:
        """A snapshot of the open connections."""
        return tuple(self._subscribers)


class BroadcastRegistry:
    """The broadcast objects of all users; one is released when nothing holds it."""

    def __init__(self, queue_size: int) -> None:
        self._queue_size = queue_size
        self._broadcasts: dict[str, Broadcast] = {}

    def __len__(self) -> int:
        return len(self._broadcasts)

    def get(self, user_id: str) -> Broadcast | None:
        """The user's broadcast if anything holds it."""
        return self._broadcasts.get(user_id)

    @contextmanager
    def hold(self, user_id: str) -> Iterator[Broadcast]:
        """Keep the user's broadcast alive for the block (created on first use)."""
        broadcast = self._broadcasts.get(user_id)
        if broadcast is None:
            broadcast = self._broadcasts[user_id] = Broadcast(user_id, self._queue_size)
        broadcast._holds += 1
        try:
            yield broadcast
        finally:
            broadcast._holds -= 1
            if broadcast._holds == 0:
                del self._broadcasts[user_id]

    @contextmanager
    def subscribe(self, user_id: str) -> Iterator[tuple[Broadcast, Subscription]]:
        """Subscribe a connection for the block; it is removed on every exit path."""
        with self.hold(user_id) as broadcast:
            subscription = broadcast.subscribe()
            try:
                yield broadcast, subscription
            finally:
                broadcast.unsubscribe(subscription)

    def connection_count(self) -> int:
        """Open connections over all users."""
        return sum(broadcast.subscriber_count for broadcast in self._broadcasts.values())

    def all_subscriptions(self) -> Iterator[Subscription]:
        """Every open connection (for heartbeats and shutdown)."""
        for broadcast in tuple(self._broadcasts.values()):
            yield from broadcast.subscriptions()

"""One connection's bounded queue of encoded frames, and why a connection ended.

A queue that overflows closes its subscription (the client reconnects and resumes from
history), so one slow reader never delays the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class CloseReason:
    """Why a subscription ended (strings, so they read well in logs and metrics)."""

    CLIENT_GONE = "client_gone"
    DROPPED = "dropped"  # a scripted disconnect
    SLOW_CONSUMER = "slow_consumer"
    LIFETIME = "lifetime"
    SHUTDOWN = "shutdown"


class Subscription:
    """One connection's bounded queue of encoded frames."""

    __slots__ = ("_frames", "_loop", "_maxsize", "_waiter", "close_reason", "idle", "on_overflow")

    def __init__(self, maxsize: int, loop: asyncio.AbstractEventLoop) -> None:
        self._frames: list[bytes] = []  # a list: most streams sit idle, and it starts smaller
        self._maxsize = maxsize
        self._loop = loop
        self._waiter: asyncio.Future[None] | None = None
        self.close_reason: str | None = None
        self.idle = True
        self.on_overflow: Callable[[], None] | None = None

    @property
    def closed(self) -> bool:
        """True once the subscription will deliver nothing more."""
        return self.close_reason is not None

    def offer(self, frame: bytes) -> bool:
        """Queue ``frame``; on overflow drop the queue, close, and return False."""
        if self.close_reason is not None:
            return False
        if len(self._frames) >= self._maxsize:
            self._frames.clear()
            self.close(CloseReason.SLOW_CONSUMER)
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        self._frames.append(frame)
        self.idle = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        return True

    def offer_heartbeat(self, frame: bytes) -> None:
        """Queue a keep-alive unless something was sent since the last heartbeat tick."""
        if not self.idle:
            self.idle = True
        elif self.close_reason is None and not self._frames:
            self._frames.append(frame)
            self._wake()

    def drop(self) -> None:
        """Cut the connection at once, even mid-write, with no clean end: the client sees
        its stream drop, reconnects and resumes from history."""
        self._frames.clear()
        self.close(CloseReason.DROPPED)
        if self.on_overflow is not None:
            self.on_overflow()

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
        joined = frames[0] if len(frames) == 1 else b"".join(frames)
        frames.clear()
        return joined

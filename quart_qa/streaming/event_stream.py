"""The response body of one SSE connection: greeting, replay, then the live stream."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .broadcast import Connection
from .sse import encode_event
from .subscription import CloseReason

log = logging.getLogger("quart_qa.connections")

MAX_EVENT_ID_DIGITS = 18


def parse_last_event_id(raw: str | None) -> int | None:
    """The id a client resumes after; None for a fresh start, -1 for an id we never issue."""
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if raw.isdigit() and raw.isascii() and len(raw) <= MAX_EVENT_ID_DIGITS:
        return int(raw)
    return -1


class EventStream:
    """An async iterator of frames that always releases its connection when closed.

    A class rather than an async generator, because Quart closes the body with ``aclose``
    even when it never started iterating, and the subscription is taken before that.
    """

    __slots__ = (
        "_closed",
        "_connection",
        "_deadline",
        "_on_close",
        "_opened",
        "_pending",
        "_task",
    )

    def __init__(
        self,
        connection: Connection,
        greeting: bytes,
        deadline: float | None,
        on_close: Callable[[str, float], None],
    ) -> None:
        self._connection = connection
        self._pending: bytes | None = greeting
        self._deadline = deadline
        self._on_close = on_close
        self._opened = time.monotonic()
        self._closed = False
        self._task: asyncio.Task[object] | None = None
        connection.subscription.on_overflow = self._abort

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> bytes:
        greeting = self._pending
        if greeting is not None:
            self._pending = None
            self._task = asyncio.current_task()
            return greeting
        frames = await self._connection.subscription.next_frames(self._deadline)
        if frames is None:
            await self.aclose()
            raise StopAsyncIteration
        return frames

    @property
    def close_reason(self) -> str | None:
        """Why the stream ended (a :class:`CloseReason`); None while it runs."""
        return self._connection.subscription.close_reason

    def client_gone(self) -> None:
        """The client disconnected: end the stream at its next wait."""
        self._connection.subscription.close(CloseReason.CLIENT_GONE)

    def too_slow(self) -> None:
        """The client stopped taking what else it is sent: cut it as a slow reader."""
        self._connection.subscription.close(CloseReason.SLOW_CONSUMER)
        self._abort()

    def _abort(self) -> None:
        """A reader too slow for its queue: cut the connection, even mid-write.

        The handler may be blocked writing to a client that stopped reading, where no
        clean end can reach it; cancelling makes the server close the socket. The client
        reconnects with Last-Event-ID and resumes from history.
        """
        task = self._task
        if task is not None and not task.done():
            task.cancel()

    async def aclose(self) -> None:
        """Unsubscribe and report why the stream ended (idempotent)."""
        if self._closed:
            return
        self._closed = True
        subscription = self._connection.subscription
        reason = subscription.close_reason or CloseReason.CLIENT_GONE
        self._connection.close()
        self._on_close(reason, time.monotonic() - self._opened)


def greeting_frames(
    connection: Connection, connected_text: str, missed_text: str, retry_ms: int
) -> bytes:
    """CONNECTED (with ``retry``), EVENTS_MISSED when the resume has a gap, then the replay."""
    resume = connection.resume
    frames = [
        encode_event(
            connected_text, event="CONNECTED", event_id=str(resume.position), retry=retry_ms
        )
    ]
    if resume.missed:
        frames.append(encode_event(missed_text, event="EVENTS_MISSED"))
    frames.extend(event.frame for event in resume.replay)
    return b"".join(frames)

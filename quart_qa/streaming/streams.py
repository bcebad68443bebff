"""Streams besides the chat page's own: counted, shown, and stopped with a goodbye.

Any dialect or transport (OpenAI Chat, Anthropic, Responses, a WebSocket) holds an
:class:`OpenStream` for as long as it streams: ``with streams.open("openai") as stream:``.
Together with the chat page's connections they count against ``limits.max_connections``;
``/healthz`` and ``/metrics`` show them by kind. At shutdown :meth:`OpenStreams.finish` gives
them ``stream.shutdown_grace`` to end by themselves, then asks the rest to stop: a stream
waiting for its next piece is woken at once (its task is cancelled there, and only there),
a stream busy sending stops before it waits again; either way it sends its goodbye in its
own wire format and ends cleanly.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .idle import IdleWaiters
from .refusals import TooManyConnections


class OpenStream:
    """One stream in progress; the dialect checks :attr:`stopping` and marks its waits."""

    __slots__ = ("_task", "_waiting", "kind", "stopping")

    def __init__(self, kind: str, task: asyncio.Task[object] | None) -> None:
        self.kind = kind
        self.stopping = False
        self._task = task
        self._waiting = False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Around the stream's wait for its next piece: where a stop may interrupt it."""
        self._waiting = True
        try:
            yield
        finally:
            self._waiting = False

    def stop(self) -> None:
        """Ask the stream to say goodbye and end; wake it if it is waiting."""
        self.stopping = True
        task = self._task
        if self._waiting and task is not None and not task.done():
            task.cancel()

    def stopping_by_cancel(self) -> bool:
        """In ``except CancelledError``: True, the cancel absorbed, when :meth:`stop` sent it."""
        task = asyncio.current_task()
        if not self.stopping or task is None or task is not self._task:
            return False
        task.uncancel()
        return True


class OpenStreams:
    """Every :class:`OpenStream` of this process, by kind."""

    def __init__(self, max_connections: int, other_connections: Callable[[], int]) -> None:
        self._max_connections = max_connections
        self._other_connections = other_connections
        self._streams: set[OpenStream] = set()
        self._by_kind: Counter[str] = Counter()
        self._idle = IdleWaiters()
        self.closed = 0  # streams closed so far

    @property
    def count(self) -> int:
        """Streams open now."""
        return len(self._streams)

    def by_kind(self) -> dict[str, int]:
        """Streams open now, per kind (kinds that had none are left out)."""
        return {kind: count for kind, count in self._by_kind.items() if count}

    def admit(self) -> None:
        """Raise :class:`TooManyConnections` when ``limits.max_connections`` are open."""
        if self._other_connections() + self.count >= self._max_connections:
            raise TooManyConnections(self._max_connections)

    @contextmanager
    def open(self, kind: str) -> Iterator[OpenStream]:
        """Hold a stream of ``kind`` for the block (in the task that streams it)."""
        stream = OpenStream(kind, asyncio.current_task())
        self._streams.add(stream)
        self._by_kind[kind] += 1
        try:
            yield stream
        finally:
            self._streams.discard(stream)
            self._by_kind[kind] -= 1
            self.closed += 1
            if not self._streams:
                self._idle.wake()

    async def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until no stream is open (True), or ``timeout`` seconds pass (False)."""
        return not self._streams or await self._idle.wait(timeout)

    async def finish(self, grace: float) -> None:
        """Let streams end by themselves for up to ``grace`` seconds, then stop the rest."""
        if grace > 0:
            await self.wait_idle(grace)
        for stream in tuple(self._streams):
            stream.stop()

"""One timeline for every paced stream of an app: a heap of due times and one loop timer.

Each paced answer (the chat page's and every LLM dialect's) says when its next piece is due;
the scheduler keeps those due times in one heap and arms a single loop timer for the
earliest. When it fires, everything due is woken in due order, oldest first, so under
overload lateness is shared out fairly and grows smoothly instead of in waves, and the loop
holds one timer instead of one per answer. A woken answer that finds more of its pieces
already due sends them at once, so its connection writes them together.

A waiter is a future (an answer's task sleeps on it) or a plain callback, which the timer
calls itself: the chat page's answers publish their chunks that way, with no task woken per
chunk (:mod:`~quart_qa.streaming.chunk_run`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

Waiter = asyncio.Future[None] | Callable[[], None]


class PaceScheduler:
    """Wakes waiters at their due times (the loop's clock), earliest first, off one timer."""

    __slots__ = ("_armed_at", "_heap", "_loop", "_order", "_timer")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Waiter]] = []
        self._order = itertools.count()  # ties wake in the order they were asked for
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = 0.0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new loop (tests): nothing of the old one can fire
            self._heap.clear()
            self._timer = None
            self._loop = loop
        return loop

    def time(self) -> float:
        """The clock due times are on (the running loop's)."""
        return self._running_loop().time()

    @property
    def waiting(self) -> int:
        """Waiters in the heap, cancelled ones not yet dropped included."""
        return len(self._heap)

    def wake_at(self, due: float) -> asyncio.Future[None]:
        """A future that resolves at ``due``; cancel it to give up the slot."""
        loop = self._running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._heap, (due, next(self._order), waiter))
        if self._timer is None or due < self._armed_at:
            self._arm(loop, due)
        return waiter

    def call_at(self, due: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` at ``due`` from the timer, in due order with every other waiter.

        There is no handle: a callback that is no longer wanted returns at once when called.
        """
        loop = self._running_loop()
        heapq.heappush(self._heap, (due, next(self._order), callback))
        if self._timer is None or due < self._armed_at:
            self._arm(loop, due)

    async def sleep_until(self, due: float) -> None:
        """Return at ``due``; cancelling the caller gives up the slot at once."""
        waiter = self.wake_at(due)
        try:
            await waiter
        finally:
            waiter.cancel()

    def _arm(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(due, self._fire)
        self._armed_at = due

    def _fire(self) -> None:
        self._timer = None
        loop = self._loop
        if loop is None:
            return
        heap = self._heap
        now = loop.time()
        while heap and heap[0][0] <= now:
            waiter = heapq.heappop(heap)[2]
            if isinstance(waiter, asyncio.Future):
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiter()
        if heap:
            self._arm(loop, heap[0][0])

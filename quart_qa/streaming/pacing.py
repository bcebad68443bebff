"""Pacing an answer: wait until each chunk's due time, measured from the previous one.

Each wait aims at ``previous due time + delay`` on the app's one timeline (the
:class:`~quart_qa.streaming.scheduler.PaceScheduler`), so the time spent publishing a chunk does
not add up over an answer, and every answer of the app is woken off one timer, oldest due
first. With no delay, the answer yields to the loop only every ``burst`` chunks: connections
then take the queued frames in one write each instead of one write per chunk.
"""

from __future__ import annotations

import asyncio

from .scheduler import PaceScheduler

NO_DELAY_BURST = 32
YIELD = -1.0  # no loop clock is negative


class Pacer:
    """Waits between the chunks of one answer."""

    __slots__ = ("_burst", "_due", "_scheduler", "_sent_since_yield")

    def __init__(self, scheduler: PaceScheduler, burst: int = NO_DELAY_BURST) -> None:
        self._scheduler = scheduler
        self._burst = max(1, burst)
        self._due = scheduler.time()
        self._sent_since_yield = 0

    def next_due(self, delay: float) -> float | None:
        """When the next chunk is due, ``delay`` seconds after the previous one: None for at
        once, :data:`YIELD` for at once but after the loop's other work, else a due time."""
        scheduler = self._scheduler
        if delay <= 0:
            self._due = scheduler.time()
            self._sent_since_yield += 1
            if self._sent_since_yield >= self._burst:
                self._sent_since_yield = 0
                return YIELD
            return None
        due = self._due + delay
        # A late chunk keeps its place in the queue (oldest first) but restarts the pace.
        self._due = max(due, scheduler.time())
        self._sent_since_yield = 0
        return due

    async def wait(self, delay: float) -> None:
        """Return when the next chunk is due, ``delay`` seconds after the previous one."""
        due = self.next_due(delay)
        if due is None:
            return
        if due == YIELD:
            await asyncio.sleep(0)
        else:
            await self._scheduler.sleep_until(due)

"""Pacing an answer: wait until each chunk's due time, measured from the previous one.

Each wait aims at ``previous due time + delay`` on the loop's clock, so the time spent
publishing a chunk does not add up over an answer. With no delay, the answer yields to
the loop only every ``burst`` chunks: connections then take the queued frames in one
write each instead of one write per chunk.
"""

from __future__ import annotations

import asyncio

NO_DELAY_BURST = 32


class Pacer:
    """Waits between the chunks of one answer."""

    __slots__ = ("_burst", "_due", "_loop", "_sent_since_yield")

    def __init__(self, loop: asyncio.AbstractEventLoop, burst: int = NO_DELAY_BURST) -> None:
        self._loop = loop
        self._burst = max(1, burst)
        self._due = loop.time()
        self._sent_since_yield = 0

    async def wait(self, delay: float) -> None:
        """Return when the next chunk is due, ``delay`` seconds after the previous one."""
        if delay <= 0:
            self._due = self._loop.time()
            self._sent_since_yield += 1
            if self._sent_since_yield >= self._burst:
                self._sent_since_yield = 0
                await asyncio.sleep(0)
            return
        loop = self._loop
        now = loop.time()
        due = max(self._due + delay, now)
        self._due = due
        self._sent_since_yield = 0
        waiter = loop.create_future()
        timer = loop.call_at(due, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)

"""Waiting until a set of things in progress is empty, with a timeout."""

from __future__ import annotations

import asyncio


class IdleWaiters:
    """The futures of those waiting for "nothing in progress"; the owner calls :meth:`wake`."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def wake(self) -> None:
        """Nothing is in progress any more: release every waiter."""
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, timeout: float | None) -> bool:
        """Wait for :meth:`wake` (True), or until ``timeout`` seconds pass (False)."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            return False
        return True

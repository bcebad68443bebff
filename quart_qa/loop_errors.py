"""The event loop's error log, with accept failures rate-limited.

Out of file descriptors, asyncio logs ``socket.accept() out of system resource`` with a
traceback and retries a second later, again and again: one client holding connections
open would fill the disk. This handler logs the first failure, then at most one line per
``interval`` saying how many more there were; every other error goes to the default handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

ACCEPT_FAILED = "socket.accept() out of system resource"
ACCEPT_LOG_INTERVAL = 60.0

log = logging.getLogger("quart_qa.server")


class AcceptErrorLog:
    """An event loop exception handler; install with :func:`install_accept_error_log`."""

    def __init__(
        self, interval: float = ACCEPT_LOG_INTERVAL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._clock = clock
        self._last_logged: float | None = None
        self.suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_FAILED:
            loop.default_exception_handler(context)
            return
        now = self._clock()
        if self._last_logged is not None and now - self._last_logged < self._interval:
            self.suppressed += 1
            return
        error = context.get("exception")
        if self._last_logged is None:
            log.error("cannot accept connections: %s (retrying every second)", error)
        else:
            log.error(
                "still cannot accept connections: %s (%d more failures in the last %.0f s)",
                error,
                self.suppressed,
                now - self._last_logged,
            )
        self._last_logged = now
        self.suppressed = 0


def install_accept_error_log(loop: asyncio.AbstractEventLoop) -> None:
    """Rate-limit accept failures on ``loop`` (other errors are logged as before)."""
    loop.set_exception_handler(AcceptErrorLog())

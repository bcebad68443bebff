"""The garbage collector set for streams: few pauses, and memory that comes back.

Streams allocate many small short-lived objects, and each collection pass is a pause every
stream feels: young generations are collected rarely, in bigger steps, and everything built
at start-up is frozen out of every collection. But a connection that lives across a few
collections has its reference cycles promoted to the oldest generation, which those
thresholds reach only after about a hundred million allocations: the garbage of closed
connections piled up, round after round. So a full collection also runs after every
:data:`FULL_AFTER_CLOSES` closed streams, at most once per :data:`FULL_MIN_INTERVAL`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable

YOUNG_THRESHOLDS = (50_000, 20, 100)
FULL_AFTER_CLOSES = 500
FULL_MIN_INTERVAL = 5.0
CHECK_INTERVAL = 1.0

log = logging.getLogger("quart_qa.server")


def freeze_start_up() -> None:
    """Keep what start-up built (it lives as long as the server) out of every collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*YOUNG_THRESHOLDS)


async def collect_after_closes(closed: Callable[[], int]) -> None:
    """Run forever: a full collection once enough streams closed since the last one."""
    last_closed, last_at = closed(), time.monotonic()
    while True:
        await asyncio.sleep(CHECK_INTERVAL)
        now = time.monotonic()
        if closed() - last_closed >= FULL_AFTER_CLOSES and now - last_at >= FULL_MIN_INTERVAL:
            found = gc.collect()
            last_closed, last_at = closed(), time.monotonic()
            log.debug("full collection: %d unreachable objects in %.3fs", found, last_at - now)

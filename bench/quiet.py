"""How busy the rest of the machine is, and waiting for it to go quiet before a run."""

from __future__ import annotations

import asyncio
import time

import psutil

QUIET_BELOW = 25.0  # % of one core used by everything but this process
SAMPLE_SECONDS = 1.0


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy so far (all cores)."""
    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + times.irq + times.softirq + times.steal)


async def others_cpu_pct(sample: float = SAMPLE_SECONDS) -> float:
    """CPU used by every other process over ``sample`` seconds, in % of one core."""
    busy, own, start = busy_seconds(), time.process_time(), time.perf_counter()
    await asyncio.sleep(sample)
    others = (busy_seconds() - busy) - (time.process_time() - own)
    return max(0.0, 100.0 * others / (time.perf_counter() - start))


async def wait_for_quiet(limit: float) -> tuple[float, float]:
    """Sample until others use less than QUIET_BELOW % or ``limit`` s pass.

    Returns (seconds waited, the last sample in %). A shared machine (other test
    suites, a browser) then loads both servers' runs alike instead of by chance.
    """
    start = time.monotonic()
    while True:
        load = await others_cpu_pct()
        waited = time.monotonic() - start
        if load < QUIET_BELOW or waited >= limit:
            return waited, load

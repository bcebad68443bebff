"""Pacing between chunks: due times do not drift, no-delay answers yield in bursts."""

from __future__ import annotations

import asyncio

from quart_qa.streaming.pacing import Pacer
from quart_qa.streaming.scheduler import PaceScheduler


async def test_due_times_do_not_accumulate_work_time() -> None:
    loop = asyncio.get_running_loop()
    pacer = Pacer(PaceScheduler())
    start = loop.time()
    for _ in range(5):
        await pacer.wait(0.02)
        busy_until = loop.time() + 0.01  # work that takes half the delay
        while loop.time() < busy_until:
            pass
    elapsed = loop.time() - start
    # 5 delays of 20 ms; the 10 ms of work after each overlaps the next wait.
    assert 0.1 <= elapsed < 0.14


async def test_no_delay_yields_once_per_burst() -> None:
    pacer = Pacer(PaceScheduler(), burst=4)
    steps: list[str] = []

    async def other() -> None:
        steps.append("other ran")

    task = asyncio.create_task(other())
    for index in range(8):
        await pacer.wait(0)
        steps.append(f"chunk {index}")
    await task
    assert steps.index("other ran") == 3  # the loop gets its turn once in every four chunks

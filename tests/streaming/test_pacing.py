"""Pacing between chunks: due times do not drift, no-delay answers yield in bursts."""

from __future__ import annotations

import asyncio

import pytest

from quart_qa.streaming.pacing import Pacer
from quart_qa.streaming.scheduler import PaceScheduler
from tests.support.fake_timeline import RecordingScheduler


async def test_due_times_do_not_accumulate_work_time() -> None:
    scheduler = RecordingScheduler(work=0.01)  # each wake and its work take 10 ms
    pacer = Pacer(scheduler)
    for _ in range(5):
        await pacer.wait(0.02)
    # 5 delays of 20 ms, each due 20 ms after the previous due time.
    assert scheduler.dues == pytest.approx([100.02, 100.04, 100.06, 100.08, 100.10])


async def test_a_late_chunk_keeps_its_due_time_and_restarts_the_pace() -> None:
    scheduler = RecordingScheduler(work=0.05)  # each wake and its work take 50 ms
    pacer = Pacer(scheduler)
    for _ in range(3):
        await pacer.wait(0.02)
    # The second chunk is due at 100.04 (first due + 20 ms) and asks for that place on the
    # timeline; the third is due 20 ms after the second was sent (100.07 + 0.02).
    assert scheduler.dues == pytest.approx([100.02, 100.04, 100.09])


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

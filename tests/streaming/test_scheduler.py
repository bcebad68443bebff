"""One timeline for every paced stream: due order, oldest first when late, joined writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import pytest

from quart_qa.settings.answers import AnswerRule, Step
from quart_qa.streaming.completions import Pace, plan_answer
from quart_qa.streaming.playback import Finished, Piece, coalesced, play
from quart_qa.streaming.scheduler import PaceScheduler
from tests.support.fake_timeline import RecordingScheduler


def block_loop(seconds: float) -> None:
    """Keep the loop busy, as an overloaded server is."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        pass


async def test_waiters_wake_in_due_order_not_in_the_order_asked() -> None:
    scheduler = PaceScheduler()
    now = scheduler.time()
    woken: list[str] = []

    async def sleeper(name: str, due: float) -> None:
        await scheduler.sleep_until(due)
        woken.append(name)

    async with asyncio.timeout(5):
        await asyncio.gather(
            sleeper("third", now + 0.03),
            sleeper("first", now + 0.01),
            sleeper("second", now + 0.02),
        )
    assert woken == ["first", "second", "third"]
    assert scheduler.waiting == 0


async def test_overdue_waiters_wake_oldest_first() -> None:
    scheduler = PaceScheduler()
    now = scheduler.time()
    woken: list[int] = []
    dues = [now + 0.004 * index for index in (5, 1, 4, 2, 3)]

    async def sleeper(due: float) -> None:
        await scheduler.sleep_until(due)
        woken.append(round((due - now) / 0.004))

    async with asyncio.timeout(5):
        tasks = [asyncio.create_task(sleeper(due)) for due in dues]
        await asyncio.sleep(0)  # every sleeper is on the timeline
        block_loop(0.05)  # all five are overdue when the loop comes back
        await asyncio.gather(*tasks)
    assert woken == [1, 2, 3, 4, 5]


async def test_a_cancelled_sleeper_gives_up_its_slot_and_the_others_still_wake() -> None:
    scheduler = PaceScheduler()
    now = scheduler.time()
    gone = asyncio.create_task(scheduler.sleep_until(now + 0.01))
    stays = asyncio.create_task(scheduler.sleep_until(now + 0.02))
    await asyncio.sleep(0)
    gone.cancel()
    async with asyncio.timeout(5):
        await stays
    assert gone.cancelled()


async def test_playback_due_times_do_not_accumulate_work_time() -> None:
    rule = AnswerRule((Step("text", tuple(f"p{index} " for index in range(5))),))
    scheduler = RecordingScheduler(work=0.015)
    playback = play(
        plan_answer(rule, mode="part"), Pace(first=0.02, part_delay=0.02), scheduler=scheduler
    )
    async with asyncio.timeout(5):
        events = [event async for event in playback]
    assert sum(isinstance(event, Piece) for event in events) == 5
    assert isinstance(events[-1], Finished)
    # Each delta is due 20 ms after the previous one was due, whatever the 15 ms of work.
    assert scheduler.dues == pytest.approx([100.02, 100.04, 100.06, 100.08, 100.10])


async def test_deltas_that_fell_behind_their_pace_go_out_in_one_write() -> None:
    rule = AnswerRule((Step("text", ("a", "b", "c", "d", "e")),))
    plan = plan_answer(rule, mode="part")

    async def frames() -> AsyncGenerator[bytes, None]:
        yield b"head;"
        async for event in play(plan, Pace(first=0.01, part_delay=0.01)):
            if isinstance(event, Piece):
                yield event.text.encode() + b";"
            elif isinstance(event, Finished):
                yield b"end;"

    writes: list[bytes] = []
    blocked_after = 0
    async with asyncio.timeout(5):
        async for write in coalesced(frames()):
            writes.append(write)
            if write.startswith(b"a;"):
                blocked_after = len(writes)
                block_loop(0.08)  # every delta left falls due meanwhile
    assert writes[0] == b"head;"
    assert b"".join(writes) == b"head;a;b;c;d;e;end;"
    assert len(writes) <= blocked_after + 1  # all that was left came in one write

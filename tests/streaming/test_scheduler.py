"""One timeline for every paced stream: due order, oldest first when late, joined writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from quart_qa.settings.answers import AnswerRule
from quart_qa.streaming.completions import Pace, TextDelta, coalesced, plan_answer, play
from quart_qa.streaming.scheduler import PaceScheduler


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
    rule = AnswerRule(parts=tuple(f"p{index} " for index in range(5)))
    playback = play(plan_answer(rule, mode="part"), Pace(first=0.02, part_delay=0.02))
    start = time.monotonic()
    async with asyncio.timeout(5):
        async for event in playback:
            if isinstance(event, TextDelta):
                block_loop(0.015)  # work that takes most of the pace
    elapsed = time.monotonic() - start
    # 5 paces of 20 ms and the last 15 ms of work: 115 ms. Were each pace counted from the
    # end of the work, it would be 175 ms.
    assert 0.1 <= elapsed < 0.16


async def test_deltas_that_fell_behind_their_pace_go_out_in_one_write() -> None:
    rule = AnswerRule(parts=("a", "b", "c", "d", "e"))
    plan = plan_answer(rule, mode="part")

    async def frames() -> AsyncGenerator[bytes, None]:
        yield b"head;"
        async for event in play(plan, Pace(first=0.01, part_delay=0.01)):
            yield (event.text if isinstance(event, TextDelta) else "end").encode() + b";"

    writes: list[bytes] = []
    async with asyncio.timeout(5):
        async for write in coalesced(frames()):
            writes.append(write)
            if len(writes) == 2:
                block_loop(0.08)  # the remaining deltas all fall due meanwhile
    assert writes == [b"head;", b"a;", b"b;c;d;e;end;"]

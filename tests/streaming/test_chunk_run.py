"""A chat-page answer's frames published from the timeline's timer: what the task's loop sends."""

from __future__ import annotations

import asyncio

import pytest

from quart_qa.settings.answers import AnswerRule, Step
from quart_qa.streaming.broadcast import Broadcast
from quart_qa.streaming.chunk_run import ChunkRun
from quart_qa.streaming.metrics import Metrics
from quart_qa.streaming.pacing import Pacer
from quart_qa.streaming.scheduler import PaceScheduler
from quart_qa.streaming.seed_frames import seed_frames
from quart_qa.streaming.sse import decode_events
from quart_qa.streaming.subscription import Subscription

PARTS = ("one", "two", "three")


def make_run(
    broadcast: Broadcast,
    scheduler: PaceScheduler,
    *,
    delay: float = 0.005,
    first_delay: float = 0.0,
    burst: int = 32,
) -> ChunkRun:
    rule = AnswerRule((Step("text", PARTS),))
    return ChunkRun(
        broadcast,
        seed_frames(rule),
        scheduler,
        Pacer(scheduler, burst=burst),
        Metrics(),
        delay=delay,
        first_delay=first_delay,
        grace=0.0,
        accepted_at=0.0,
        end_text="done",
        abandoned_text=lambda: "abandoned",
    )


def names_and_data(subscription: Subscription) -> list[tuple[str, str]]:
    frames = subscription._frames
    events = decode_events(b"".join(frames))
    frames.clear()
    return [(event.event, event.data) for event in events]


async def test_publishes_each_frame_then_answer_end_at_their_due_times() -> None:
    broadcast = Broadcast("u1", 100, 10, asyncio.get_running_loop())
    subscription, _ = broadcast.subscribe()
    scheduler = PaceScheduler()
    run = make_run(broadcast, scheduler, delay=0.01)
    started = scheduler.time()
    async with asyncio.timeout(5):
        done = run.start()
        # No first delay: the first chunk is out before start() returns.
        assert names_and_data(subscription) == [("ANSWER_CHUNK", "one")]
        assert await done is True
    assert scheduler.time() - started >= 0.02  # two paces, from the timer
    assert names_and_data(subscription) == [
        ("ANSWER_CHUNK", "two"),
        ("ANSWER_CHUNK", "three"),
        ("ANSWER_END", "done"),
    ]
    assert [event.event_id for event in broadcast._history or ()] == list(
        range(broadcast.last_id - 3, broadcast.last_id + 1)
    )


async def test_a_cancelled_run_publishes_nothing_more() -> None:
    broadcast = Broadcast("u1", 100, 10, asyncio.get_running_loop())
    subscription, _ = broadcast.subscribe()
    scheduler = PaceScheduler()
    run = make_run(broadcast, scheduler, delay=0.005)
    async with asyncio.timeout(5):
        done = run.start()
        done.cancel()  # what cancelling the answer task does to the future it sleeps on
        # The timeline wakes in due order: past this, the run's next due time has come.
        await scheduler.sleep_until(scheduler.time() + 0.02)
    assert names_and_data(subscription) == [("ANSWER_CHUNK", "one")]


async def test_an_unwatched_answer_is_abandoned_after_a_wait() -> None:
    broadcast = Broadcast("u1", 100, 10, asyncio.get_running_loop())
    subscription, _ = broadcast.subscribe()
    run = make_run(broadcast, PaceScheduler(), delay=0.005)
    async with asyncio.timeout(5):
        done = run.start()
        broadcast.unsubscribe(subscription)
        assert await done is False
    events = [(event.name, event.data) for event in broadcast._history or ()]
    assert events == [("ANSWER_CHUNK", "one"), ("ERROR", "abandoned")]


@pytest.mark.parametrize("burst", [1, 2])
async def test_no_delay_yields_to_the_loop_every_burst(burst: int) -> None:
    broadcast = Broadcast("u1", 100, 10, asyncio.get_running_loop())
    subscription, _ = broadcast.subscribe()
    run = make_run(broadcast, PaceScheduler(), delay=0.0, burst=burst)
    async with asyncio.timeout(5):
        done = run.start()
        assert len(names_and_data(subscription)) == burst - 1  # then a yield
        assert await done is True
    assert [name for name, _ in names_and_data(subscription)][-1] == "ANSWER_END"


async def test_the_timeline_calls_callbacks_in_due_order_with_futures() -> None:
    scheduler = PaceScheduler()
    now = scheduler.time()
    order: list[str] = []
    scheduler.call_at(now + 0.02, lambda: order.append("callback at 20 ms"))
    async with asyncio.timeout(5):
        sleeper = asyncio.create_task(scheduler.sleep_until(now + 0.01))
        sleeper.add_done_callback(lambda _: order.append("future at 10 ms"))
        await scheduler.sleep_until(now + 0.03)
    assert order == ["future at 10 ms", "callback at 20 ms"]

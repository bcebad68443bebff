"""The broadcast layer on its own: no web framework involved."""

from __future__ import annotations

import asyncio

import pytest

from quart_qa.streaming.broadcast import BroadcastRegistry
from quart_qa.streaming.subscription import CloseReason


async def test_publish_encodes_once_and_reaches_every_subscriber() -> None:
    registry = BroadcastRegistry(queue_size=8)
    with registry.subscribe("u") as one, registry.subscribe("u") as two:
        assert one.broadcast is two.broadcast
        event = await one.broadcast.publish("ANSWER_CHUNK", "hi")
        frame_one = await one.subscription.next_frames()
        frame_two = await two.subscription.next_frames()
    assert frame_one is event.frame
    assert frame_two is event.frame
    assert event.frame == f"event: ANSWER_CHUNK\nid: {event.event_id}\ndata: hi\n\n".encode()


async def test_queued_frames_are_batched_in_order() -> None:
    registry = BroadcastRegistry(queue_size=8)
    with registry.subscribe("u") as connection:
        events = [await connection.broadcast.publish("E", str(index)) for index in range(3)]
        batch = await connection.subscription.next_frames()
    assert batch == b"".join(event.frame for event in events)


async def test_slow_subscriber_is_closed_without_delaying_others() -> None:
    registry = BroadcastRegistry(queue_size=2)
    with registry.subscribe("u") as slow, registry.subscribe("u") as fast:
        broadcast = fast.broadcast
        for index in range(3):
            await broadcast.publish("E", str(index))
            assert await fast.subscription.next_frames() is not None
        assert slow.subscription.close_reason == CloseReason.SLOW_CONSUMER
        assert await slow.subscription.next_frames() is None
        assert broadcast.subscriber_count == 1


async def test_registry_releases_broadcast_when_nothing_holds_it() -> None:
    registry = BroadcastRegistry(queue_size=2)
    with registry.subscribe("u"), registry.hold("u"):
        assert len(registry) == 1
        assert registry.connections == 1
    assert len(registry) == 0
    assert registry.connections == 0
    assert registry.get("u") is None


async def test_history_outlives_the_last_connection_for_its_ttl() -> None:
    registry = BroadcastRegistry(queue_size=2, history=10, history_ttl=0.05)
    with registry.subscribe("u") as connection:
        await connection.broadcast.publish("E", "x")
    assert registry.get("u") is connection.broadcast
    with registry.subscribe("u") as again:  # a reconnect within the ttl keeps the history
        assert again.broadcast is connection.broadcast
    async with asyncio.timeout(2):
        while registry.get("u") is not None:  # noqa: ASYNC110  # the ttl timer is the event
            await asyncio.sleep(0.01)


async def test_resume_replays_after_the_given_id() -> None:
    registry = BroadcastRegistry(queue_size=8, history=10)
    with registry.hold("u") as broadcast:
        events = [await broadcast.publish("E", str(index)) for index in range(5)]
        with registry.subscribe("u", after=events[1].event_id) as connection:
            resume = connection.resume
    assert resume.position == events[1].event_id
    assert resume.replay == tuple(events[2:])
    assert not resume.missed


@pytest.mark.parametrize("after", [-1, 0, 1, 10_000])
async def test_resume_from_unknown_or_evicted_id_says_missed(after: int) -> None:
    registry = BroadcastRegistry(queue_size=8, history=3)
    with registry.hold("u") as broadcast:
        events = [await broadcast.publish("E", str(index)) for index in range(6)]
        with registry.subscribe("u", after=after) as connection:
            resume = connection.resume
    assert resume.missed
    assert resume.replay == tuple(events[3:])
    assert resume.position == events[3].event_id - 1


async def test_resume_at_the_newest_id_replays_nothing() -> None:
    registry = BroadcastRegistry(queue_size=8, history=3)
    with registry.hold("u") as broadcast:
        events = [await broadcast.publish("E", str(index)) for index in range(6)]
        with registry.subscribe("u", after=events[-1].event_id) as connection:
            assert connection.resume.replay == ()
            assert not connection.resume.missed


async def test_deadline_ends_waiting_subscription() -> None:
    registry = BroadcastRegistry(queue_size=2)
    loop = asyncio.get_running_loop()
    with registry.subscribe("u") as connection:
        subscription = connection.subscription
        async with asyncio.timeout(2):
            assert await subscription.next_frames(loop.time() + 0.05) is None
        assert subscription.close_reason == CloseReason.LIFETIME


async def test_heartbeat_only_when_idle() -> None:
    registry = BroadcastRegistry(queue_size=4)
    with registry.subscribe("u") as connection:
        subscription = connection.subscription
        await connection.broadcast.publish("E", "x")
        await subscription.next_frames()
        subscription.offer_heartbeat(b":\n\n")  # something was sent this tick: skipped
        subscription.offer_heartbeat(b":\n\n")  # idle for a whole tick: sent
        assert await subscription.next_frames() == b":\n\n"


async def test_close_delivers_queued_frames_then_ends() -> None:
    registry = BroadcastRegistry(queue_size=4)
    with registry.subscribe("u") as connection:
        event = await connection.broadcast.publish("E", "last")
        connection.subscription.close(CloseReason.SHUTDOWN)
        assert await connection.subscription.next_frames() == event.frame
        assert await connection.subscription.next_frames() is None

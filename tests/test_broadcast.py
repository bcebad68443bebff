"""The broadcast layer on its own: no web framework involved."""

from __future__ import annotations

import asyncio

from quart_qa.broadcast import BroadcastRegistry, CloseReason


async def test_publish_encodes_once_and_reaches_every_subscriber() -> None:
    registry = BroadcastRegistry(queue_size=8)
    with registry.subscribe("u") as (broadcast, one), registry.subscribe("u") as (same, two):
        assert broadcast is same
        event = await broadcast.publish("ANSWER_CHUNK", "hi")
        frame_one = await one.next_frames()
        frame_two = await two.next_frames()
    assert frame_one is event.frame
    assert frame_two is event.frame
    assert event.frame == b"event: ANSWER_CHUNK\nid: 1\ndata: hi\n\n"


async def test_queued_frames_are_batched_in_order() -> None:
    registry = BroadcastRegistry(queue_size=8)
    with registry.subscribe("u") as (broadcast, subscription):
        events = [await broadcast.publish("E", str(index)) for index in range(3)]
        batch = await subscription.next_frames()
    assert batch == b"".join(event.frame for event in events)


async def test_slow_subscriber_is_closed_without_delaying_others() -> None:
    registry = BroadcastRegistry(queue_size=2)
    with registry.subscribe("u") as (broadcast, slow), registry.subscribe("u") as (_, fast):
        for index in range(3):
            await broadcast.publish("E", str(index))
            assert await fast.next_frames() is not None
        assert slow.close_reason == CloseReason.SLOW_CONSUMER
        assert await slow.next_frames() is None
        assert broadcast.subscriber_count == 1


async def test_registry_releases_broadcast_when_nothing_holds_it() -> None:
    registry = BroadcastRegistry(queue_size=2)
    with registry.subscribe("u"), registry.hold("u"):
        assert len(registry) == 1
    assert len(registry) == 0
    assert registry.get("u") is None


async def test_deadline_ends_waiting_subscription() -> None:
    registry = BroadcastRegistry(queue_size=2)
    loop = asyncio.get_running_loop()
    with registry.subscribe("u") as (_, subscription):
        async with asyncio.timeout(2):
            assert await subscription.next_frames(loop.time() + 0.05) is None
    assert subscription.close_reason == CloseReason.LIFETIME


async def test_heartbeat_only_when_idle() -> None:
    registry = BroadcastRegistry(queue_size=4)
    with registry.subscribe("u") as (broadcast, subscription):
        await broadcast.publish("E", "x")
        await subscription.next_frames()
        subscription.offer_heartbeat(b":\n\n")  # something was sent this tick: skipped
        subscription.offer_heartbeat(b":\n\n")  # idle for a whole tick: sent
        assert await subscription.next_frames() == b":\n\n"


async def test_close_delivers_queued_frames_then_ends() -> None:
    registry = BroadcastRegistry(queue_size=4)
    with registry.subscribe("u") as (broadcast, subscription):
        event = await broadcast.publish("E", "last")
        subscription.close(CloseReason.SHUTDOWN)
        assert await subscription.next_frames() == event.frame
        assert await subscription.next_frames() is None

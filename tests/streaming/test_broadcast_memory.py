"""What the broadcast layer retains: ids never reused, history bytes capped across users."""

from __future__ import annotations

from quart_qa.streaming.broadcast import BroadcastRegistry


async def publish_answer(registry: BroadcastRegistry, user_id: str, parts: int) -> list[int]:
    with registry.hold(user_id) as broadcast:
        return [
            (await broadcast.publish("ANSWER_CHUNK", f"part {n}")).event_id for n in range(parts)
        ]


async def test_an_id_from_an_earlier_life_of_the_user_is_unknown() -> None:
    """A new broadcast of the same user (a restart, or the old one expired) never reuses ids,
    so a tab holding an old id is told it missed events instead of being spliced in."""
    for restarted in (False, True):
        before = BroadcastRegistry(queue_size=8, history=100)
        old_ids = await publish_answer(before, "u", 3)
        after = before if not restarted else BroadcastRegistry(queue_size=8, history=100)
        assert after.get("u") is None  # released without a time to live: gone
        with after.hold("u") as broadcast:
            new_ids = [(await broadcast.publish("ANSWER_CHUNK", "new")).event_id for _ in "12345"]
            assert not set(old_ids) & set(new_ids)
            with after.subscribe("u", after=old_ids[1]) as connection:
                assert connection.resume.missed
                assert [event.event_id for event in connection.resume.replay] == new_ids


async def test_retained_bytes_are_capped_by_evicting_the_longest_idle_users() -> None:
    cap = 64 * 1024
    registry = BroadcastRegistry(
        queue_size=8, history=1000, history_ttl=300, max_retained_bytes=cap
    )
    last_ids = {}
    for user in range(40):
        last_ids[user] = (await publish_answer(registry, f"u{user}", 20))[-1]
        assert registry.retained_bytes <= cap
    assert registry.evictions > 0
    assert registry.get("u0") is None  # the first to go idle went first
    assert registry.get("u39") is not None
    kept = {user for user in range(40) if registry.get(f"u{user}") is not None}
    assert kept == set(range(40 - len(kept), 40))
    with registry.subscribe("u0", after=last_ids[0]) as connection:
        assert connection.resume.missed  # evicted: its next resume says EVENTS_MISSED


async def test_a_held_user_is_never_evicted() -> None:
    registry = BroadcastRegistry(queue_size=8, history=1000, history_ttl=300, max_retained_bytes=1)
    with registry.subscribe("held") as connection:
        await connection.broadcast.publish("ANSWER_CHUNK", "x" * 1000)
        await publish_answer(registry, "idle", 1)
        assert registry.get("held") is connection.broadcast
        assert registry.get("idle") is None
    assert registry.get("held") is None  # idle now, and over the cap

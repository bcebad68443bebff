"""Per-user rules across nodes: two apps in one process sharing one real Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

import pytest
from quart import Quart

from quart_qa import create_app
from quart_qa.brokers.redis import broker as redis_broker
from quart_qa.settings.config import Settings
from quart_qa.streaming.refusals import BrokerUnavailable
from quart_qa.web.state import get_state
from tests.support.apps import fast_settings, running_app, with_redis
from tests.support.live_server import free_port
from tests.support.redis_server import RedisServer
from tests.support.sse_reader import open_stream


def limited(**limits: int) -> Settings:
    settings = fast_settings(chunk_delay=0.05)
    return replace(settings, limits=replace(settings.limits, **limits))


@asynccontextmanager
async def two_nodes(redis: RedisServer, settings: Settings) -> AsyncIterator[tuple[Quart, Quart]]:
    """Two apps (two nodes) on one Redis, sharing a key prefix of their own."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    shared = with_redis(settings, redis.url, prefix)
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_app(shared))
        second = await stack.enter_async_context(running_app(shared))
        yield first, second


async def test_connections_per_user_count_on_every_node(shared_redis: RedisServer) -> None:
    async with two_nodes(shared_redis, limited(max_connections_per_user=2)) as (one, two):
        on_one, on_two = one.test_client(), two.test_client()
        async with open_stream(on_one, "u1"), open_stream(on_two, "u1"):
            refused = await on_one.get("/qa/connect/u1")
            assert refused.status_code == 429
            assert (await refused.get_json())["error"] == "too_many_connections_for_user"
            async with open_stream(on_two, "u2"):  # other users are not affected
                pass
        async with open_stream(on_one, "u1"):  # closed connections free their places
            pass


async def test_total_connections_count_on_every_node(shared_redis: RedisServer) -> None:
    async with (
        two_nodes(shared_redis, limited(max_connections=2)) as (one, two),
        open_stream(one.test_client(), "a"),
        open_stream(two.test_client(), "b"),
    ):
        refused = await one.test_client().get("/qa/connect/c")
        assert refused.status_code == 503
        assert (await refused.get_json())["error"] == "too_many_connections"


async def test_asks_per_minute_count_on_every_node(shared_redis: RedisServer) -> None:
    settings = limited(asks_per_minute=2)
    async with two_nodes(shared_redis, settings) as (one, two):
        on_one, on_two = one.test_client(), two.test_client()
        async with open_stream(on_one, "u1") as stream:
            first = await on_one.post("/qa/ask/u1", json={"question": "one"})
            second = await on_two.post("/qa/ask/u1", json={"question": "two"})
            third = await on_one.post("/qa/ask/u1", json={"question": "three"})
            assert [first.status_code, second.status_code, third.status_code] == [202, 202, 429]
            assert (await third.get_json())["error"] == "rate_limited"
            assert int(third.headers["Retry-After"]) >= 1
            await stream.answer()
            await stream.answer()


async def test_reject_when_busy_on_another_node(shared_redis: RedisServer) -> None:
    settings = fast_settings(chunk_delay=0.2, on_busy="reject")
    async with (
        two_nodes(shared_redis, settings) as (one, two),
        open_stream(one.test_client(), "u1") as stream,
    ):
        accepted = await one.test_client().post("/qa/ask/u1", json={"question": "q"})
        assert accepted.status_code == 202
        busy = await two.test_client().post("/qa/ask/u1", json={"question": "again"})
        assert busy.status_code == 409
        assert (await busy.get_json())["error"] == "busy"
        nothing = await two.test_client().post("/qa/ask/nobody", json={"question": "q"})
        assert nothing.status_code == 404
        cancel = await two.test_client().post("/qa/cancel/u1")
        assert cancel.status_code == 200
        assert (await stream.answer())[-1].event == "ANSWER_CANCELLED"


async def test_healthz_names_the_broker(shared_redis: RedisServer) -> None:
    async with running_app(with_redis(fast_settings(), shared_redis.url, "health")) as app:
        body = await (await app.test_client().get("/healthz")).get_json()
    assert body["broker"] == "redis"
    assert body["redis"] == "ok"
    assert body["status"] == "ok"
    assert body["node"] == get_state(app).broker.health()["node"]


async def test_unreachable_redis_fails_start(shared_redis: RedisServer) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(with_redis(fast_settings(), url, "down", connect_timeout=0.5))
    with pytest.raises(BrokerUnavailable, match=r"cannot reach Redis at redis://127\.0\.0\.1"):
        await get_state(app).start()
    await get_state(app).stop()


async def test_cancel_on_another_node_stops_the_answer_at_once(shared_redis: RedisServer) -> None:
    settings = fast_settings(first_chunk_delay=30, chunk_delay=30)  # the answer is thinking
    async with (
        two_nodes(shared_redis, settings) as (one, two),
        open_stream(one.test_client(), "u1") as stream,
    ):
        accepted = await one.test_client().post("/qa/ask/u1", json={"question": "q"})
        assert accepted.status_code == 202
        await stream.until("ANSWER_START")
        cancel = await two.test_client().post("/qa/cancel/u1")
        assert cancel.status_code == 200
        rest = await stream.answer(timeout=3)  # not 30 s: node one heard it through Pub/Sub
        assert [event.event for event in rest] == ["ANSWER_CANCELLED"]


@pytest.mark.parametrize("lean", [True, False], ids=["lean-connection", "redis-py"])
async def test_answer_on_another_database(
    shared_redis: RedisServer, monkeypatch: pytest.MonkeyPatch, lean: bool
) -> None:
    """Events reach the stream on a non-default database, over either path for emits.

    ``rediss://`` (TLS) URLs take the redis-py path; a plain one the lean connection.
    """
    monkeypatch.setattr(redis_broker, "supported", lambda url: lean)
    url = shared_redis.url.rsplit("/", 1)[0] + "/3"
    async with running_app(with_redis(fast_settings(), url, f"db{uuid.uuid4().hex[:8]}")) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            assert (await client.post("/qa/ask/u1", json={"question": "q"})).status_code == 202
            events = await stream.answer()
    assert [event.event for event in events][-1] == "ANSWER_END"
    assert len(events) == 7

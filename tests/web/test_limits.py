"""Limits, bounded state and observability through the Quart test client."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from quart_qa.settings.config import Settings
from quart_qa.streaming.rate_limit import RateLimiter
from quart_qa.web.state import get_state
from tests.support.apps import AppFactory, fast_settings
from tests.support.sse_reader import open_stream

ALL_BACKENDS = True  # every test here runs on the memory and the Redis broker


def our_tasks() -> set[asyncio.Task[object]]:
    """Every task but redis-py's in-flight command sends (its wait_for wraps each one in a
    task while the broker's long-lived reader re-issues XREAD), which come and go on their own.
    """
    return {
        task
        for task in asyncio.all_tasks()
        if not task.get_coro().__qualname__.startswith("AbstractConnection.")  # type: ignore[union-attr]
    }


def with_limits(settings: Settings, **limits: int) -> Settings:
    return replace(settings, limits=replace(settings.limits, **limits))


async def test_connections_per_user_limit(make_app: AppFactory) -> None:
    async with make_app(with_limits(fast_settings(), max_connections_per_user=2)) as app:
        client = app.test_client()
        async with open_stream(client, "u1"), open_stream(client, "u1"):
            refused = await client.get("/qa/connect/u1")
            assert refused.status_code == 429
            assert refused.headers["Retry-After"].isdigit()
            assert (await refused.get_json())["error"] == "too_many_connections_for_user"
            async with open_stream(client, "u2"):  # other users are not affected
                pass
        async with open_stream(client, "u1"):  # a closed connection frees its place
            pass


async def test_total_connections_limit(make_app: AppFactory) -> None:
    async with make_app(with_limits(fast_settings(), max_connections=2)) as app:
        client = app.test_client()
        async with open_stream(client, "a"), open_stream(client, "b"):
            refused = await client.get("/qa/connect/c")
            assert refused.status_code == 503
            assert "Retry-After" in refused.headers
            assert (await refused.get_json())["error"] == "too_many_connections"


async def test_asks_per_minute(make_app: AppFactory) -> None:
    settings = with_limits(fast_settings(chunk_delay=0), asks_per_minute=3)
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream, open_stream(client, "u2"):
            statuses = []
            for index in range(4):
                response = await client.post("/qa/ask/u1", json={"question": f"q{index}"})
                statuses.append(response.status_code)
            assert statuses == [202, 202, 202, 429]
            assert int(response.headers["Retry-After"]) >= 1
            assert (await response.get_json())["error"] == "rate_limited"
            other = await client.post("/qa/ask/u2", json={"question": "mine"})
            assert other.status_code == 202  # the limit is per user
            for _ in range(3):
                await stream.answer()


def test_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.hit("u") == 0
    assert limiter.hit("u") == 0
    assert limiter.hit("u") > 0
    now[0] = 30.0  # one interval later, one more is allowed
    assert limiter.hit("u") == 0
    now[0] = 200.0
    limiter.prune()
    assert len(limiter) == 0


def test_the_rate_limiters_wait_counts_nothing() -> None:
    now = [0.0]
    limiter = RateLimiter(1, clock=lambda: now[0])
    assert limiter.wait("u") == 0
    assert limiter.hit("u") == 0  # the wait above used up nothing
    assert limiter.wait("u") == limiter.hit("u") > 0
    assert RateLimiter(0).wait("u") == 0


async def test_no_zombie_tasks_or_broadcasts_after_many_cycles(make_app: AppFactory) -> None:
    settings = with_limits(fast_settings(chunk_delay=0.001), asks_per_minute=0)
    async with make_app(settings) as app:
        client = app.test_client()
        state = get_state(app)
        baseline_tasks = len(our_tasks())
        for cycle in range(300):
            user = f"user{cycle % 7}"
            async with open_stream(client, user) as stream:
                await client.post(f"/qa/ask/{user}", json={"question": "q"})
                if cycle % 3:
                    await stream.answer()  # finished answers
                else:
                    await stream.until("ANSWER_CHUNK")  # abandoned mid-answer
                    if cycle % 2:
                        await client.post(f"/qa/cancel/{user}")  # cancelled
        async with asyncio.timeout(5):
            await asyncio.gather(*state.runner.tasks())
        assert len(our_tasks()) == baseline_tasks
        assert state.runner.running_count == 0
        assert len(state.registry) == 0
        assert state.registry.connections == 0


async def test_healthz(make_app: AppFactory) -> None:
    async with make_app(fast_settings(chunk_delay=0.2)) as app:
        client = app.test_client()
        async with open_stream(client, "u1"):
            await client.post("/qa/ask/u1", json={"question": "q"})
            response = await client.get("/healthz")
            body = await response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["connections"] == 1
    assert body["running_answers"] == 1
    assert body["uptime_seconds"] >= 0


async def test_metrics_count_what_happened(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await client.post("/qa/ask/u1", json={"question": "q"})
            await stream.answer()
            during = await (await client.get("/metrics")).get_data(as_text=True)
        after = await client.get("/metrics")
        text = await after.get_data(as_text=True)
    assert after.headers["Content-Type"].startswith("text/plain")
    assert "qa_open_connections 1.0" in during
    assert "qa_open_connections 0.0" in text
    assert 'qa_questions_total{outcome="completed"} 1.0' in text
    assert "qa_events_published_total 7.0" in text
    assert 'qa_connections_closed_total{reason="client_gone"} 1.0' in text
    assert "qa_time_to_first_chunk_seconds_count 1.0" in text
    assert "qa_chunk_lateness_seconds_count 4.0" in text
    assert "this process only" in text

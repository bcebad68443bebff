"""Resume with Last-Event-ID: nothing lost, nothing twice, gaps said out loud."""

from __future__ import annotations

import asyncio
import random

from httpx_sse import ServerSentEvent
from quart.typing import TestClientProtocol as Client

from quart_qa.settings.config import settings_from_mapping
from quart_qa.web.state import get_state
from tests.support.apps import AppFactory, fast_settings
from tests.support.sse_reader import open_stream

ALL_BACKENDS = True  # every test here runs on the memory and the Redis broker

ANSWER_EVENTS = {"ANSWER_START", "ANSWER_CHUNK", "ANSWER_END", "ERROR"}


async def ask(client: Client, user_id: str, question: str) -> None:
    response = await client.post(f"/qa/ask/{user_id}", json={"question": question})
    assert response.status_code == 202, await response.get_data(as_text=True)


def keyed(events: list[ServerSentEvent]) -> list[tuple[str, str, str]]:
    return [(event.id, event.event, event.data) for event in events if event.event in ANSWER_EVENTS]


async def test_connected_carries_retry(make_app: AppFactory) -> None:
    async with (
        make_app(fast_settings(retry_ms=1234)) as app,
        open_stream(app.test_client(), "u1", expect_connected=False) as stream,
    ):
        connected = await stream.next_event()
    assert connected.event == "CONNECTED"
    assert connected.retry == 1234


async def test_resume_after_a_drop_mid_answer(make_app: AppFactory) -> None:
    settings = fast_settings(chunk_delay=0.02, resume_grace=5, history_ttl=5)
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as reference:
            async with open_stream(client, "u1") as first:
                await ask(client, "u1", "q")
                seen = await first.until("ANSWER_CHUNK")
                seen.append(await first.next_event())
            last_id = seen[-1].id
            async with open_stream(
                client, "u1", headers={"Last-Event-ID": last_id}, expect_connected=False
            ) as second:
                connected = await second.next_event()
                assert connected.event == "CONNECTED"
                assert connected.id == last_id
                rest = await second.answer()
            expected = await reference.answer()
    assert keyed(seen + rest) == keyed(expected)
    assert [event.event for event in expected][-1] == "ANSWER_END"


async def test_resume_with_query_parameter(make_app: AppFactory) -> None:
    async with make_app(fast_settings(history_ttl=5)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as first:
            await ask(client, "u1", "q")
            events = await first.answer()
        start_id = events[0].id
        async with open_stream(client, f"u1?last_event_id={start_id}") as again:
            replay = await again.answer()
    assert keyed(replay) == keyed(events[1:])


async def test_unknown_or_too_old_id_says_events_were_missed(make_app: AppFactory) -> None:
    async with make_app(fast_settings(history=3, history_ttl=5)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as first:
            await ask(client, "u1", "q")
            events = await first.answer()
        for stale in ("1", "999999", "not-a-number"):
            async with open_stream(client, "u1", headers={"Last-Event-ID": stale}) as again:
                missed = await again.next_event()
                assert missed.event == "EVENTS_MISSED"
                assert missed.data
                replay = [await again.next_event() for _ in range(3)]
                assert keyed(replay) == keyed(events[-3:])


async def test_random_drops_lose_nothing_and_duplicate_nothing(make_app: AppFactory) -> None:
    """A client that drops and resumes at random points of many answers sees every event once."""
    settings = settings_from_mapping(
        {
            "stream": {
                "chunk_delay": 0.002,
                "heartbeat": 0,
                "history_ttl": 10,
                "resume_grace": 10,
                "history": 1000,
            },
            "limits": {"max_pending_answers": 50, "asks_per_minute": 0},
            "answers": [{"parts": [f"part {index}" for index in range(15)]}],
        }
    )
    answers = 20
    rng = random.Random(20261123)
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as reference:
            received: list[ServerSentEvent] = []
            last_id: str | None = None
            drops = 0
            while sum(event.event == "ANSWER_END" for event in received) < answers:
                headers = {"Last-Event-ID": last_id} if last_id else None
                async with open_stream(client, "u1", headers=headers) as flaky:
                    if drops == 0:
                        for index in range(answers):
                            await ask(client, "u1", f"question {index}")
                    for _ in range(rng.randint(1, 25)):
                        event = await flaky.next_event()
                        received.append(event)
                        last_id = event.id
                        if sum(e.event == "ANSWER_END" for e in received) == answers:
                            break
                drops += 1
            expected: list[ServerSentEvent] = []
            while sum(event.event == "ANSWER_END" for event in expected) < answers:
                expected += await reference.answer()
    got, want = keyed(received), keyed(expected)
    lost = set(want) - set(got)
    duplicated = len(got) - len(set(got))
    assert drops > answers  # the client really dropped many times
    assert lost == set()
    assert duplicated == 0
    assert got == want  # and in order


async def test_lifetime_timeout_is_invisible_with_resume(make_app: AppFactory) -> None:
    settings = fast_settings(chunk_delay=0.03, timeout=0.05, resume_grace=5, history_ttl=5)
    async with make_app(settings) as app:
        client = app.test_client()
        received: list[ServerSentEvent] = []
        last_id: str | None = None
        asked = False
        reconnects = 0
        while not any(event.event == "ANSWER_END" for event in received):
            headers = {"Last-Event-ID": last_id} if last_id else None
            async with open_stream(client, "u1", headers=headers) as stream:
                if not asked:
                    await ask(client, "u1", "q")
                    asked = True
                events = await stream.wait_end()  # the server ends it at `timeout`
                assert stream.ended
                received += events
                if events:
                    last_id = events[-1].id
                reconnects += 1
    names = [event.event for event in received]
    assert reconnects > 1
    assert names == ["ANSWER_START", *["ANSWER_CHUNK"] * 5, "ANSWER_END"]


async def test_answer_survives_a_blip_within_the_grace(make_app: AppFactory) -> None:
    settings = fast_settings(chunk_delay=0.02, resume_grace=5, history_ttl=5)
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "q")
            first = await stream.until("ANSWER_START")
        async with open_stream(client, "u1", headers={"Last-Event-ID": first[-1].id}) as again:
            rest = await again.answer()
    assert rest[-1].event == "ANSWER_END"
    assert [event.event for event in rest].count("ANSWER_CHUNK") == 5


async def test_answer_abandoned_after_the_grace_says_so_in_history(make_app: AppFactory) -> None:
    settings = fast_settings(chunk_delay=0.05, resume_grace=0.01, history_ttl=5)
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "q")
            start = await stream.until("ANSWER_START")
        async with asyncio.timeout(5):  # nobody listens: the answer gives up by itself
            await asyncio.gather(*get_state(app).runner.tasks())
        async with open_stream(client, "u1", headers={"Last-Event-ID": start[-1].id}) as again:
            rest = await again.answer()
    assert rest[-1].event == "ERROR"
    assert rest[-1].data == "回答已中止: 连接已断开"
    assert [event.event for event in rest].count("ANSWER_CHUNK") < 5

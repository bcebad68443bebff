"""The HTTP protocol through the Quart test client: streams, answers, errors."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from quart import Quart
from quart.testing.connections import TestHTTPConnection as HTTPConnection
from quart.typing import TestClientProtocol as Client

from quart_qa.settings.config import SEED_ANSWER_PARTS, Settings
from quart_qa.web.state import get_state
from tests.support.apps import AppFactory, fast_settings
from tests.support.sse_reader import id_order, is_event_id, open_stream

ALL_BACKENDS = True  # every test here runs on the memory and the Redis broker


async def ask(client: Client, user_id: str, question: str) -> dict[str, object]:
    response = await client.post(f"/qa/ask/{user_id}", json={"question": question})
    assert response.status_code == 202, await response.get_data(as_text=True)
    body: dict[str, object] = await response.get_json()
    return body


async def test_connect_headers_and_connected_event(client: Client) -> None:
    async with open_stream(client, "u1", expect_connected=False) as stream:
        first = await stream.next_event()
        connection = stream.connection
        assert isinstance(connection, HTTPConnection)
        assert connection.status_code == 200
        assert connection.headers is not None
        assert connection.headers["Content-Type"].startswith("text/event-stream")
        assert connection.headers["Cache-Control"] == "no-cache"
        assert connection.headers["X-Accel-Buffering"] == "no"
        assert first.event == "CONNECTED"
        assert first.data == "连接已建立,用户ID: u1"
        assert is_event_id(first.id)


async def test_connect_response_has_no_timeout(app: Quart, client: Client) -> None:
    app.config["RESPONSE_TIMEOUT"] = 0.05
    async with open_stream(client, "u1") as stream:
        await asyncio.sleep(0.2)  # longer than RESPONSE_TIMEOUT: the stream must survive it
        await ask(client, "u1", "still there?")
        events = await stream.answer()
        assert events[-1].event == "ANSWER_END"


async def test_seed_flow(client: Client) -> None:
    async with open_stream(client, "user_abc") as stream:
        body = await ask(client, "user_abc", "什么是SSE")
        assert body["message"] == "问题已提交,正在处理中..."
        assert isinstance(body["answer_id"], str)
        assert body["answer_id"]
        events = await stream.answer()
    assert [event.event for event in events] == [
        "ANSWER_START",
        *["ANSWER_CHUNK"] * len(SEED_ANSWER_PARTS),
        "ANSWER_END",
    ]
    assert events[0].data == "开始回答问题: 什么是SSE"
    assert tuple(event.data for event in events[1:-1]) == SEED_ANSWER_PARTS
    assert events[-1].data == "回答结束"


@pytest.mark.slow
async def test_default_pacing_is_one_second_between_chunks(make_app: AppFactory) -> None:
    async with make_app(Settings().with_stream(heartbeat=0)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "q")
            arrivals = []
            for _ in range(1 + len(SEED_ANSWER_PARTS)):
                event = await stream.next_event(timeout=3)
                arrivals.append((event.event, time.monotonic()))
    chunk_times = [at for name, at in arrivals if name == "ANSWER_CHUNK"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(chunk_times)]
    assert len(gaps) == 4
    # Each chunk is due a second after the one before went out. A busy machine may deliver
    # one late, which lengthens its gap and can shorten the next as seen here; the four
    # together still take four seconds, give or take that one delay.
    assert all(0.7 < gap < 2.0 for gap in gaps), gaps
    assert 3.8 < chunk_times[-1] - chunk_times[0] < 5.5, gaps


async def test_ids_are_unique_and_increasing(client: Client) -> None:
    async with open_stream(client, "u1", expect_connected=False) as stream:
        connected = await stream.next_event()
        await ask(client, "u1", "one")
        first = await stream.answer()
        await ask(client, "u1", "two")
        second = await stream.answer()
    ids = [id_order(event.id) for event in [connected, *first, *second]]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


async def test_every_tab_gets_every_event(client: Client) -> None:
    async with open_stream(client, "u1") as tab1, open_stream(client, "u1") as tab2:
        await ask(client, "u1", "q")
        events1, events2 = await asyncio.gather(tab1.answer(), tab2.answer())
    assert [(e.event, e.id, e.data) for e in events1] == [(e.event, e.id, e.data) for e in events2]
    assert events1[-1].event == "ANSWER_END"


async def test_other_users_never_see_the_answer(client: Client) -> None:
    async with open_stream(client, "alice") as alice, open_stream(client, "bob") as bob:
        await ask(client, "alice", "for alice only")
        await alice.answer()
        await ask(client, "bob", "for bob")
        bob_events = await bob.answer()
    assert all("alice" not in event.data for event in bob_events)
    assert bob_events[0].data == "开始回答问题: for bob"


async def test_event_injection_in_question_stays_data(client: Client) -> None:
    question = "x\nevent: ANSWER_END\nid: 999\nretry: 1\n\ndata: forged"
    async with open_stream(client, "u1") as stream:
        await ask(client, "u1", question)
        events = await stream.answer()
    assert events[0].event == "ANSWER_START"
    assert events[0].data == f"开始回答问题: {question}"
    assert events[0].id != "999"
    assert [e.event for e in events].count("ANSWER_END") == 1


@pytest.mark.parametrize("on_busy", ["queue", "reject"])
async def test_on_busy(make_app: AppFactory, on_busy: str) -> None:
    async with make_app(fast_settings(chunk_delay=0.05, on_busy=on_busy)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "first")
            second = await client.post("/qa/ask/u1", json={"question": "second"})
            first_answer = await stream.answer()
            if on_busy == "queue":
                assert second.status_code == 202
                second_answer = await stream.answer()
                assert second_answer[0].data.endswith("second")
                assert id_order(second_answer[0].id) > id_order(first_answer[-1].id)
            else:
                assert second.status_code == 409
                assert (await second.get_json())["error"] == "busy"
    assert first_answer[0].data.endswith("first")
    assert [e.event for e in first_answer].count("ANSWER_CHUNK") == len(SEED_ANSWER_PARTS)


async def test_queue_is_bounded(make_app: AppFactory) -> None:
    settings = fast_settings(chunk_delay=1)
    settings = Settings(
        stream=settings.stream,
        limits=type(settings.limits)(max_pending_answers=2),
    )
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1"):
            statuses = []
            for index in range(4):
                response = await client.post("/qa/ask/u1", json={"question": f"q{index}"})
                statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429]


async def test_fail_after_sends_error(make_app: AppFactory) -> None:
    from quart_qa.settings.config import settings_from_mapping

    settings = settings_from_mapping(
        {
            "stream": {"chunk_delay": 0.01, "heartbeat": 0},
            "answers": [
                {"match": "break", "parts": ["a", "b", "c"], "fail_after": 2, "error": "boom"},
                {"parts": ["ok"]},
            ],
        }
    )
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "please BREAK")
            failed = await stream.answer()
            await ask(client, "u1", "fine")
            fine = await stream.answer()
    assert [(e.event, e.data) for e in failed[1:]] == [
        ("ANSWER_CHUNK", "a"),
        ("ANSWER_CHUNK", "b"),
        ("ERROR", "boom"),
    ]
    assert [e.event for e in fine] == ["ANSWER_START", "ANSWER_CHUNK", "ANSWER_END"]


async def test_answer_timeout_ends_with_error(make_app: AppFactory) -> None:
    async with make_app(fast_settings(chunk_delay=0.2, answer_timeout=0.3)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "slow")
            events = await stream.answer()
            assert events[-1].event == "ERROR"
            assert "0.3" in events[-1].data
            assert 1 <= [e.event for e in events].count("ANSWER_CHUNK") < len(SEED_ANSWER_PARTS)
            # the user can ask again right away
            await ask(client, "u1", "again")
            assert (await stream.answer())[0].event == "ANSWER_START"


async def test_cancel_stops_answer_and_drops_queue(make_app: AppFactory) -> None:
    async with make_app(fast_settings(chunk_delay=0.2)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "first")
            await ask(client, "u1", "queued")
            await stream.until("ANSWER_CHUNK")
            response = await client.post("/qa/cancel/u1")
            assert response.status_code == 200
            body = await response.get_json()
            assert body["dropped"] == 1
            rest = await stream.answer()
            assert rest[-1].event == "ANSWER_CANCELLED"
            assert rest[-1].data == "回答已取消"
            nothing = await client.post("/qa/cancel/u1")
            assert nothing.status_code == 404
            assert (await nothing.get_json())["error"] == "nothing_running"
            await ask(client, "u1", "next")
            assert (await stream.answer())[-1].event == "ANSWER_END"


async def test_an_answer_stopped_twice_is_stopped_once(make_app: AppFactory) -> None:
    # A cancel can reach the answering worker twice (on Redis: from this node and in the
    # reply to its next chunk); the second must not cancel the worker again, or it lands in
    # the first one's ANSWER_CANCELLED and ends the worker (on Redis, holding the lease).
    async with make_app(fast_settings(chunk_delay=0.2)) as app:
        client = app.test_client()
        runner = get_state(app).runner
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "first")
            await stream.until("ANSWER_CHUNK")
            (worker,) = runner.tasks()
            runner.cancel("u1")
            runner.cancel("u1")
            assert worker.cancelling() == 1
            rest = await stream.answer()
            assert [event.event for event in rest].count("ANSWER_CANCELLED") == 1
            assert rest[-1].event == "ANSWER_CANCELLED"
            await ask(client, "u1", "next")
            assert (await stream.answer())[-1].event == "ANSWER_END"


async def test_answer_stops_when_last_connection_closes(make_app: AppFactory) -> None:
    async with make_app(fast_settings(chunk_delay=0.05)) as app:
        client = app.test_client()
        state = get_state(app)
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "q")
            await stream.until("ANSWER_CHUNK")
        async with asyncio.timeout(2):
            await asyncio.gather(*state.runner.tasks())
        assert state.runner.running_count == 0
        assert len(state.registry) == 0


async def test_cleanup_after_disconnect(app: Quart, client: Client) -> None:
    state = get_state(app)
    async with open_stream(client, "u1") as one, open_stream(client, "u2"):
        assert state.registry.connections == 2
        await ask(client, "u1", "q")
        await one.answer()
    async with asyncio.timeout(2):
        await asyncio.gather(*state.runner.tasks())
    assert state.runner.running_count == 0
    assert len(state.registry) == 0


async def test_stream_lifetime_timeout_ends_stream_cleanly(make_app: AppFactory) -> None:
    async with make_app(fast_settings(timeout=0.2)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            assert await stream.wait_end(timeout=2) == []
            assert stream.ended


async def test_heartbeat_comments_on_idle_stream(make_app: AppFactory) -> None:
    async with make_app(fast_settings(heartbeat=0.05)) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            async with asyncio.timeout(2):
                while len(stream.comments) < 2:
                    stream._feed(await stream.connection.receive())
    assert stream.comments[:2] == [": heartbeat", ": heartbeat"]


async def test_connected_template_substitutes_once(make_app: AppFactory) -> None:
    from dataclasses import replace

    base = fast_settings()
    settings = replace(
        base, messages=replace(base.messages, answer_start="Q={question} U={user_id}")
    )
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            await ask(client, "u1", "{user_id}")
            events = await stream.answer()
    assert events[0].data == "Q={user_id} U=u1"


async def test_index_page(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "text/html" in response.headers["Content-Type"]


@pytest.mark.parametrize("path", ["/", "/static/js/app.js"])
async def test_page_and_modules_revalidate(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert "max-age=0" in response.headers["Cache-Control"]
    again = await client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


async def test_openapi_documents_the_models(client: Client) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = await response.get_json()
    assert "/qa/ask/{user_id}" in spec["paths"]
    ask_op = spec["paths"]["/qa/ask/{user_id}"]["post"]
    assert "202" in ask_op["responses"]
    assert "QuestionRequest" in str(ask_op["requestBody"]) or "question" in str(spec)
    docs = await client.get("/docs")
    assert docs.status_code == 200

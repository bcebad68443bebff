"""The ASGI fast path for connect serves the same stream as the Quart route."""

from __future__ import annotations

from dataclasses import replace

from quart import request_started

from quart_qa.settings.cors import CorsSettings
from quart_qa.web.connection_guard import ConnectionGuard
from quart_qa.web.fast_path import FastPath
from quart_qa.web.recorder import Recorder
from tests.support.apps import AppFactory, fast_settings
from tests.support.sse_reader import open_stream


async def transcript(make_app: AppFactory, cors: bool) -> tuple[list[tuple[str, str]], int]:
    settings = fast_settings()
    if cors:  # CORS needs Quart's headers: connects then go through the Quart route
        settings = replace(settings, cors=CorsSettings(allow_origins=("http://example.com",)))
    started: list[object] = []

    async def count(sender: object, **extra: object) -> None:
        started.append(sender)

    async with make_app(settings) as app:
        guard = app.asgi_app
        assert isinstance(guard, ConnectionGuard)
        recorder = guard._inner
        assert isinstance(recorder, Recorder)
        assert isinstance(recorder._inner, FastPath)
        request_started.connect(count, app)
        client = app.test_client()
        async with open_stream(client, "u1", expect_connected=False) as stream:
            connected = await stream.next_event()
            before_ask = len(started)
            await client.post("/qa/ask/u1", json={"question": "same?"})
            events = [connected, *await stream.answer()]
        request_started.disconnect(count, app)
    return [(event.event, event.data) for event in events], before_ask


async def test_fast_path_and_quart_route_send_the_same_events(make_app: AppFactory) -> None:
    fast, quart_requests_before_ask_fast = await transcript(make_app, cors=False)
    routed, quart_requests_before_ask_routed = await transcript(make_app, cors=True)
    assert fast == routed
    assert fast[0] == ("CONNECTED", "连接已建立,用户ID: u1")
    assert quart_requests_before_ask_fast == 0  # the stream never entered Quart
    assert quart_requests_before_ask_routed == 1


async def test_fast_path_refusals_are_json(make_app: AppFactory) -> None:
    settings = fast_settings()
    settings = replace(settings, limits=replace(settings.limits, max_connections=1))
    async with make_app(settings) as app:
        client = app.test_client()
        async with open_stream(client, "a"):
            refused = await client.get("/qa/connect/b")
    assert refused.status_code == 503
    assert refused.headers["Content-Type"] == "application/json"
    assert (await refused.get_json())["error"] == "too_many_connections"
    assert refused.headers["Retry-After"].isdigit()


async def test_bad_user_id_still_gets_quarts_error(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        response = await app.test_client().get("/qa/connect/bad.id")
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "invalid_user_id"


async def test_well_formed_ask_never_enters_quart(make_app: AppFactory) -> None:
    started: list[object] = []

    async def count(sender: object, **extra: object) -> None:
        started.append(sender)

    async with make_app(fast_settings()) as app:
        request_started.connect(count, app)
        client = app.test_client()
        async with open_stream(client, "u1") as stream:
            accepted = await client.post("/qa/ask/u1", json={"question": "fast?"})
            body = await accepted.get_json()
            answer = await stream.answer()
            not_json = await client.post("/qa/ask/u1", data=b"fast?")
        request_started.disconnect(count, app)
    assert accepted.status_code == 202
    assert accepted.headers["Content-Type"] == "application/json"
    assert set(body) == {"answer_id", "message"}
    assert body["message"] == "问题已提交,正在处理中..."
    assert answer[0].data == "开始回答问题: fast?"
    assert not_json.status_code == 415  # handed to Quart, which names the problem
    assert len(started) == 1  # only the refused one went through Quart


async def test_ask_refusals_from_the_fast_path_are_json(make_app: AppFactory) -> None:
    async with make_app(fast_settings()) as app:
        response = await app.test_client().post("/qa/ask/nobody", json={"question": "hi"})
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert await response.get_json() == {
        "error": "not_connected",
        "message": "user 'nobody' has no open connection to answer on",
    }

"""Streamed LLM requests served on the ASGI fast path, and everything else left to Quart."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from quart_qa.dialects.fast_path import LlmFastPath
from quart_qa.dialects.state import get_llm_state
from quart_qa.settings.auth import AuthSettings
from quart_qa.settings.config import Settings, settings_from_mapping
from quart_qa.settings.frontends import FrontendSettings
from tests.support.apps import AppFactory
from tests.support.llm_server import llm_settings

TIMEOUT = 5.0
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
RESPONSES = "/v1/responses"
AI_SDK = "/api/chat"
AGUI = "/agui"
PATHS = [CHAT, MESSAGES, RESPONSES, AI_SDK, AGUI]


@pytest.fixture
def settings() -> Settings:
    return llm_settings({"fast": {}})


def body(path: str, stream: bool = True, question: str = "hi") -> dict[str, Any]:
    """A well-formed request of the dialect at ``path`` (the front-end protocols always stream)."""
    if path == AI_SDK:
        parts = [{"type": "text", "text": question}]
        return {"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": parts}]}
    if path == AGUI:
        return {
            "threadId": "t1",
            "runId": "r1",
            "messages": [{"role": "user", "content": question}],
        }
    document: dict[str, Any] = {"model": "fast", "stream": stream}
    if path == RESPONSES:
        document["input"] = question
    else:
        document["messages"] = [{"role": "user", "content": question}]
    if path == MESSAGES:
        document["max_tokens"] = 100
    return document


def fast_path(app: Quart) -> LlmFastPath:
    """The LLM fast path, behind the chat page's."""
    layer: object = app.asgi_app
    while not isinstance(layer, LlmFastPath):
        layer = layer._inner  # type: ignore[attr-defined]
    return layer


async def post(client: Client, path: str, document: Any) -> tuple[int, str]:
    async with asyncio.timeout(TIMEOUT):
        response = await client.post(path, json=document)
        return response.status_code, await response.get_data(as_text=True)


@pytest.mark.parametrize("path", PATHS)
async def test_a_streamed_request_is_served_on_the_fast_path(
    app: Quart, client: Client, path: str
) -> None:
    status, text = await post(client, path, body(path, stream=True))
    assert status == 200
    assert fast_path(app).served == 1
    assert '":" scripted"' in text  # the text goes out delta by delta


@pytest.mark.parametrize("path", [CHAT, MESSAGES, RESPONSES])
async def test_what_the_fast_path_does_not_serve_goes_to_quart(
    app: Quart, client: Client, path: str
) -> None:
    whole, _ = await post(client, path, body(path, stream=False))
    unknown_model, error = await post(client, path, {**body(path, stream=True), "model": "x"})
    assert (whole, unknown_model) == (200, 404)
    assert "x" in error  # the dialect's own error, from its route
    assert fast_path(app).served == 0


async def test_token_mode_goes_to_quart(settings: Settings, make_app: AppFactory) -> None:
    token_mode = dataclasses.replace(settings, auth=AuthSettings(mode="token", secret="s" * 32))
    async with make_app(token_mode) as app:
        status, _ = await post(app.test_client(), CHAT, body(CHAT, stream=True))
        assert status == 401
        assert fast_path(app).served == 0


@pytest.mark.parametrize(
    ("path", "document", "problem"),
    [
        (AI_SDK, {"messages": [{"role": "user"}]}, "messages[0].parts"),
        (AGUI, {"threadId": 7, "messages": []}, "threadId"),
        (RESPONSES, {"model": "fast", "stream": True}, "input"),
    ],
)
async def test_a_bad_body_is_refused_by_the_route_in_its_dialects_shape(
    app: Quart, client: Client, path: str, document: dict[str, Any], problem: str
) -> None:
    status, error = await post(client, path, document)
    assert status == 400
    assert f"'{problem}'" in error
    assert fast_path(app).served == 0


@pytest.mark.parametrize("path", PATHS)
async def test_a_lone_surrogate_in_the_question_is_a_400_from_the_route(
    app: Quart, client: Client, path: str
) -> None:
    raw = json.dumps(body(path, question="a\ud800b")).encode()  # valid JSON, not Unicode
    async with asyncio.timeout(TIMEOUT):
        response = await client.post(path, data=raw, headers={"Content-Type": "application/json"})
        text = await response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert "lone surrogate" in text
    assert fast_path(app).served == 0


@pytest.mark.parametrize("path", PATHS)
async def test_a_paths_frontends_section_moves_is_served_where_it_is_mounted(
    settings: Settings, make_app: AppFactory, path: str
) -> None:
    moved = dataclasses.replace(
        settings, frontends=FrontendSettings(ai_sdk_path="/chat", agui_path="/run")
    )
    where = {AI_SDK: "/chat", AGUI: "/run"}.get(path, path)
    async with make_app(moved) as app:
        status, _ = await post(app.test_client(), where, body(path))
        assert status == 200
        assert fast_path(app).served == 1


@pytest.mark.parametrize("path", PATHS)
async def test_a_request_refused_for_its_rate_uses_up_no_scripted_answer(
    make_app: AppFactory, path: str
) -> None:
    config = {
        "stream": {"chunk_delay": 0, "first_chunk_delay": 0, "heartbeat": 0},
        "limits": {"asks_per_minute": 1},
        "models": {"fast": {}},
        "answers": [{"text": "scripted twice", "times": 2}, {"text": "then this"}],
    }
    async with make_app(settings_from_mapping(config, source="<test>")) as app:
        client = app.test_client()
        first = await post(client, path, body(path))
        refused = await post(client, path, body(path))  # the same caller, over its rate
        async with asyncio.timeout(TIMEOUT):
            other = await client.post(path, json=body(path), scope_base={"client": ("10.0.0.2", 1)})
            third = (other.status_code, await other.get_data(as_text=True))
    assert (first[0], refused[0], third[0]) == (200, 429, 200)
    assert '":" twice"' in third[1]  # the rule's second use, not the next rule
    assert fast_path(app).served == 2


@pytest.mark.parametrize("path", PATHS)
async def test_a_client_leaving_a_fast_path_stream_stops_its_answer(
    settings: Settings, make_app: AppFactory, path: str
) -> None:
    paced = settings.with_stream(chunk_delay=30)  # the answer would take minutes
    async with make_app(paced) as app:
        tracker = get_llm_state(app).tracker
        client: Client = app.test_client()
        async with asyncio.timeout(TIMEOUT):
            async with client.request(
                path, method="POST", headers={"Content-Type": "application/json"}
            ) as connection:
                await connection.send(json.dumps(body(path)).encode())
                await connection.send_complete()
                await connection.receive()  # the first frames are out
                assert (tracker.running, fast_path(app).served) == (1, 1)
                await connection.disconnect()
            await tracker.wait_idle()
        assert tracker.outcomes == {"disconnected": 1}

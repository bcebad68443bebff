"""The AI SDK's UI message stream and AG-UI on the wire, through the Quart test client.

The JavaScript clients themselves read these streams in test_frontend_clients.py; here the
frames are pinned exactly, with the endpoints' refusals, paths, auth and disconnects.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from quart_qa.dialects.state import get_llm_state
from quart_qa.settings.auth import AuthSettings
from quart_qa.settings.config import Settings, load_settings
from quart_qa.settings.frontends import FrontendSettings
from quart_qa.web.auth import issue_token
from tests.support.apps import ROOT, running_app
from tests.support.frames import TIMEOUT, body_of, payload, post, stream_frames

CONFIG = ROOT / "tests" / "support" / "frontends.toml"
AI_SDK = "/api/chat"
AGUI = "/agui"


@pytest.fixture
def settings() -> Settings:
    scripted = load_settings(CONFIG)
    return scripted.with_stream(chunk_delay=0, first_chunk_delay=0, heartbeat=0)


def use_chat(question: str, **fields: Any) -> dict[str, Any]:
    """A body as useChat's DefaultChatTransport sends it."""
    message = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": question}]}
    return {"id": "chat1", "messages": [message], "trigger": "submit-message", **fields}


def run_input(question: str, **fields: Any) -> dict[str, Any]:
    """AG-UI's RunAgentInput as HttpAgent sends it."""
    message = {"id": "u1", "role": "user", "content": question}
    return {
        "threadId": "thread-1",
        "runId": "run-1",
        "state": {},
        "messages": [message],
        "tools": [],
        "context": [],
        "forwardedProps": {},
        **fields,
    }


def chunks(frames: list[list[str]]) -> list[dict[str, Any]]:
    """One compact JSON chunk a frame, ``data: [DONE]`` last."""
    assert frames[-1] == ["data: [DONE]"]
    return [payload(frame[0]) for frame in frames[:-1] if len(frame) == 1]


async def test_ui_message_stream_frames(client: Client) -> None:
    response = await post(client, AI_SDK, use_chat("weather?"))
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    body = chunks(await stream_frames(client, AI_SDK, use_chat("weather?")))
    kinds = [chunk["type"] for chunk in body]
    assert kinds[:3] == ["start", "start-step", "reasoning-start"]
    assert kinds[-2:] == ["finish-step", "finish"]
    assert body[-1] == {"type": "finish", "finishReason": "stop"}
    call = next(chunk for chunk in body if chunk["type"] == "tool-input-available")
    assert call["input"] == {"city": "Paris", "unit": "celsius"}
    output = next(chunk for chunk in body if chunk["type"] == "tool-output-available")
    assert output == {
        "type": "tool-output-available",
        "toolCallId": call["toolCallId"],
        "output": {"temperature": 21, "sky": "sunny"},
    }
    # The server ran the tool: the answer text is a new step.
    after = kinds[kinds.index("tool-output-available") + 1 :]
    assert after[:3] == ["finish-step", "start-step", "text-start"]
    deltas = "".join(chunk["delta"] for chunk in body if chunk["type"] == "text-delta")
    assert deltas == "It is **21 °C** and sunny in Paris."


async def test_a_client_side_tool_ends_the_step_with_tool_calls(client: Client) -> None:
    body = chunks(await stream_frames(client, AI_SDK, use_chat("where am i")))
    assert "tool-output-available" not in [chunk["type"] for chunk in body]
    assert body[-1] == {"type": "finish", "finishReason": "tool-calls"}


async def test_the_follow_up_continues_the_assistant_message(client: Client) -> None:
    assistant = {
        "id": "msg_previous",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-get_location",
                "toolCallId": "call_1",
                "state": "output-available",
                "input": {"precision": "city"},
                "output": {"city": "Lyon"},
            },
        ],
    }
    body = use_chat("where am i")
    body["messages"].append(assistant)
    sent = chunks(await stream_frames(client, AI_SDK, body))
    assert sent[0] == {"type": "start", "messageId": "msg_previous"}
    text = "".join(chunk["delta"] for chunk in sent if chunk["type"] == "text-delta")
    assert text == 'Your browser says: {"city":"Lyon"}'


async def test_a_scripted_failure_is_an_error_chunk(client: Client) -> None:
    body = chunks(await stream_frames(client, AI_SDK, use_chat("fail")))
    assert body[-1] == {"type": "error", "errorText": "simulated model failure"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"id": "x"}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "parts": []}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].parts"),
        ({"messages": [{"role": "user", "parts": ["hi"]}]}, "messages[0].parts[0]"),
    ],
)
async def test_bad_use_chat_bodies_get_400_naming_the_field(
    client: Client, body: dict[str, Any], problem: str
) -> None:
    response = await post(client, AI_SDK, body)
    assert response.status_code == 400
    error = await body_of(response)
    assert set(error) >= {"error", "message"}
    assert f"'{problem}'" in error["message"]


async def test_resume_request_finds_nothing_to_resume(client: Client) -> None:
    response = await client.get(f"{AI_SDK}/chat1/stream")
    assert response.status_code == 204


async def test_agui_events(client: Client) -> None:
    frames = await stream_frames(client, AGUI, run_input("weather?"))
    events = [payload(frame[0]) for frame in frames]
    assert events[0] == {"type": "RUN_STARTED", "threadId": "thread-1", "runId": "run-1"}
    assert events[-1] == {"type": "RUN_FINISHED", "threadId": "thread-1", "runId": "run-1"}
    kinds = [event["type"] for event in events]
    assert kinds[1:3] == ["REASONING_START", "REASONING_MESSAGE_START"]
    result = next(event for event in events if event["type"] == "TOOL_CALL_RESULT")
    start = next(event for event in events if event["type"] == "TOOL_CALL_START")
    assert start["toolCallName"] == "get_weather"
    assert result["toolCallId"] == start["toolCallId"]
    assert json.loads(result["content"]) == {"temperature": 21, "sky": "sunny"}
    text = "".join(event["delta"] for event in events if event["type"] == "TEXT_MESSAGE_CONTENT")
    assert text == "It is **21 °C** and sunny in Paris."


async def test_agui_failure_is_run_error(client: Client) -> None:
    frames = await stream_frames(client, AGUI, run_input("fail"))
    last = payload(frames[-1][0])
    assert last == {
        "type": "RUN_ERROR",
        "message": "simulated model failure",
        "code": "scripted_failure",
    }


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"threadId": 7, "messages": []}, "threadId"),
        ({"messages": {}}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
    ],
)
async def test_bad_run_input_gets_400_naming_the_field(
    client: Client, body: dict[str, Any], problem: str
) -> None:
    response = await post(client, AGUI, body)
    assert response.status_code == 400
    assert f"'{problem}'" in (await body_of(response))["message"]


async def test_paths_come_from_the_frontends_section(settings: Settings) -> None:
    moved = replace(settings, frontends=FrontendSettings(ai_sdk_path="/chat", agui_path=""))
    async with running_app(moved) as app:
        client = app.test_client()
        assert (await post(client, "/chat", use_chat("hi"))).status_code == 200
        assert (await post(client, AI_SDK, use_chat("hi"))).status_code == 404
        assert (await post(client, AGUI, run_input("hi"))).status_code == 404


@pytest.mark.parametrize("path", [AI_SDK, AGUI])
async def test_token_mode_needs_a_token(settings: Settings, path: str) -> None:
    auth = AuthSettings(mode="token", secret="a-test-secret-of-enough-length")
    body = use_chat("hi") if path == AI_SDK else run_input("hi")
    async with running_app(replace(settings, auth=auth)) as app:
        client = app.test_client()
        refused = await post(client, path, body)
        assert refused.status_code == 401
        assert (await body_of(refused))["error"] == "missing_token"
        token = issue_token(auth, "user_abc")
        allowed = await post(client, path, body, {"Authorization": f"Bearer {token}"})
        assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("path", "body"), [(AI_SDK, use_chat("weather")), (AGUI, run_input("weather"))]
)
async def test_disconnect_stops_the_answer(
    settings: Settings, path: str, body: dict[str, Any]
) -> None:
    paced = settings.with_stream(chunk_delay=30)  # the answer would take minutes
    async with running_app(paced) as app:
        tracker = get_llm_state(app).tracker
        client: Client = app.test_client()
        async with asyncio.timeout(TIMEOUT):
            async with client.request(
                path, method="POST", headers={"Content-Type": "application/json"}
            ) as connection:
                await connection.send(json.dumps(body).encode())
                await connection.send_complete()
                await connection.receive()  # the first frames are out
                assert tracker.running == 1
                await connection.disconnect()
            await tracker.wait_idle()
        assert tracker.outcomes == {"disconnected": 1}

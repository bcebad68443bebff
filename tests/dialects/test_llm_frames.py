"""The exact wire format of the OpenAI and Anthropic APIs, through the Quart test client.

These pin field presence, key order and event order, so a change an SDK happens to tolerate
still fails here.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from quart_qa.dialects.openai_chat import openai_api
from quart_qa.dialects.state import get_llm_state
from quart_qa.settings.config import Settings
from quart_qa.web.errors import ApiError
from tests.support.apps import AppFactory
from tests.support.frames import (
    TIMEOUT,
    body_of,
    named_events,
    openai_chunks,
    payload,
    post,
    stream_frames,
)
from tests.support.llm_server import FAILURE, GREETING, GREETING_TOKENS, LONG_PARTS, llm_settings

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
MODELS: dict[str, dict[str, Any]] = {"fast": {}, "parts": {"deltas": "part"}, "slow": {"ttft": 0.1}}
CHUNK_KEYS = ["id", "object", "created", "model", "system_fingerprint", "choices"]
OPENAI_ERROR_KEYS = ["message", "type", "param", "code"]


@pytest.fixture
def settings() -> Settings:
    return llm_settings(MODELS)


def chat(question: str = "hi", **fields: object) -> dict[str, Any]:
    return {"model": "fast", "messages": [{"role": "user", "content": question}], **fields}


def anthropic(question: str = "hi", **fields: object) -> dict[str, Any]:
    return {
        "model": "fast",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": question}],
        **fields,
    }


# --- OpenAI: streaming -----------------------------------------------------------------------


async def test_openai_stream_with_usage(client: Client) -> None:
    body = chat(stream=True, stream_options={"include_usage": True})
    chunks = openai_chunks(await stream_frames(client, CHAT, body))
    first, *content, finish, usage = chunks
    assert first["choices"] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "", "refusal": None},
            "logprobs": None,
            "finish_reason": None,
        }
    ]
    assert [chunk["choices"][0]["delta"] for chunk in content] == [
        {"content": token} for token in GREETING_TOKENS
    ]
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in content)
    assert finish["choices"] == [
        {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    ]
    assert usage["choices"] == []
    assert usage["usage"] == {
        "prompt_tokens": 1,
        "completion_tokens": len(GREETING_TOKENS),
        "total_tokens": 1 + len(GREETING_TOKENS),
    }
    for chunk in chunks:
        assert list(chunk) == [*CHUNK_KEYS, "usage"]
        assert chunk["id"] == first["id"]
        assert chunk["created"] == first["created"]
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "fast"
    assert all(chunk["usage"] is None for chunk in chunks[:-1])
    assert first["id"].startswith("chatcmpl-")
    assert isinstance(first["created"], int)


async def test_openai_stream_without_usage(client: Client) -> None:
    chunks = openai_chunks(await stream_frames(client, CHAT, chat(stream=True)))
    assert all(list(chunk) == CHUNK_KEYS for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert text == GREETING


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
async def test_openai_max_tokens_ends_with_length(client: Client, field: str) -> None:
    body = {**chat(stream=True, stream_options={"include_usage": True}), field: 3}
    chunks = openai_chunks(await stream_frames(client, CHAT, body))
    contents = [chunk["choices"][0]["delta"]["content"] for chunk in chunks[1:-2]]
    assert contents == list(GREETING_TOKENS[:3])
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"]["completion_tokens"] == 3


async def test_openai_max_completion_tokens_wins(client: Client) -> None:
    response = await post(client, CHAT, chat(max_tokens=1, max_completion_tokens=2))
    body = await body_of(response)
    assert body["choices"][0]["message"]["content"] == "Hello there"


async def test_openai_stop_sequence(client: Client) -> None:
    chunks = openai_chunks(await stream_frames(client, CHAT, chat(stream=True, stop=[" is"])))
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert text == "Hello there! This"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_openai_failure_mid_stream(client: Client) -> None:
    frames = await stream_frames(client, CHAT, chat("please fail", stream=True))
    assert frames[-1] == ["data: [DONE]"]
    error = payload(frames[-2][0])
    assert error == {
        "error": {
            "message": FAILURE,
            "type": "server_error",
            "param": None,
            "code": "simulated_failure",
        }
    }
    chunks = [payload(frame[0]) for frame in frames[:-2]]
    assert [chunk["choices"][0]["delta"].get("content") for chunk in chunks] == [
        "",
        "Partial",
        " answer",
    ]
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks)


async def test_openai_answer_timeout_mid_stream(make_app: AppFactory) -> None:
    async with make_app(llm_settings(answer_timeout=0.2)) as app:
        frames = await stream_frames(app.test_client(), CHAT, chat("slow", stream=True))
    error = payload(frames[-2][0])["error"]
    assert error["code"] == "timeout"
    assert error["type"] == "server_error"
    assert error["message"] == "回答超时 (0.2 秒)"
    assert frames[-1] == ["data: [DONE]"]
    assert payload(frames[1][0])["choices"][0]["delta"] == {"content": "Slow"}


async def test_openai_keep_alives_are_comment_lines(make_app: AppFactory) -> None:
    settings = llm_settings({"thinker": {"ttft": 0.15}}, heartbeat=0.04)
    async with make_app(settings) as app:
        body = chat(stream=True, model="thinker", max_tokens=1)
        frames = await stream_frames(app.test_client(), CHAT, body)
    comments = [index for index, frame in enumerate(frames) if frame == [": keep-alive"]]
    assert 1 <= len(comments) <= 3  # 0.15 s of pause, one every 0.04 s (fewer if the loop lags)
    assert comments == list(range(1, 1 + len(comments)))  # after the role chunk, before content
    assert not any(line.startswith("event:") for frame in frames for line in frame)


async def test_openai_part_deltas(client: Client) -> None:
    chunks = openai_chunks(await stream_frames(client, CHAT, chat(stream=True, model="parts")))
    contents = [chunk["choices"][0]["delta"]["content"] for chunk in chunks[1:-1]]
    assert contents == ["Hello ", "there! ", "This ", "is ", "a ", "scripted ", "answer."]


async def test_openai_rule_follows_the_last_user_message(client: Client) -> None:
    body = {
        "model": "fast",
        "messages": [
            {"role": "system", "content": "fail if you can"},
            {"role": "user", "content": "fail please"},
            {"role": "assistant", "content": "Partial answer"},
            {"role": "user", "content": [{"type": "text", "text": "now be nice"}]},
        ],
        "temperature": 0.2,
        "tools": [],
        "user": "someone",
    }
    answer = await body_of(await post(client, CHAT, body))
    assert answer["choices"][0]["message"]["content"] == GREETING
    assert answer["usage"]["prompt_tokens"] == 4 + 2 + 2 + 3


# --- OpenAI: whole answers, models, errors ---------------------------------------------------


async def test_openai_non_streaming(client: Client) -> None:
    response = await post(client, CHAT, chat())
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["x-request-id"].startswith("req_")
    body = await body_of(response)
    assert list(body) == [*CHUNK_KEYS, "usage"]
    assert body["object"] == "chat.completion"
    assert body["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": GREETING, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ]
    assert body["usage"] == {"prompt_tokens": 1, "completion_tokens": 9, "total_tokens": 10}


@pytest.mark.parametrize(
    ("question", "status", "code"),
    [("fail", 500, "simulated_failure"), ("slow", 504, "timeout")],
)
async def test_openai_non_streaming_failure(
    make_app: AppFactory, question: str, status: int, code: str
) -> None:
    async with make_app(llm_settings(answer_timeout=0.1)) as app:
        response = await post(app.test_client(), CHAT, chat(question))
    assert response.status_code == status
    error = (await body_of(response))["error"]
    assert list(error) == OPENAI_ERROR_KEYS
    assert error["type"] == "server_error"
    assert error["code"] == code


async def test_openai_models(client: Client) -> None:
    listing = await body_of(await client.get("/v1/models"))
    assert listing["object"] == "list"
    assert [model["id"] for model in listing["data"]] == ["fast", "parts", "slow"]
    assert list(listing["data"][0]) == ["id", "object", "created", "owned_by"]
    one = await body_of(await client.get("/v1/models/slow"))
    assert one == listing["data"][2]
    missing = await client.get("/v1/models/nope")
    assert missing.status_code == 404
    assert (await body_of(missing))["error"]["code"] == "model_not_found"


async def test_without_models_any_name_is_served(make_app: AppFactory) -> None:
    async with make_app(llm_settings()) as app:
        client = app.test_client()
        answer = await body_of(await post(client, CHAT, chat(model="gpt-4o-mini")))
        listing = await body_of(await client.get("/v1/models"))
    assert answer["model"] == "gpt-4o-mini"
    assert answer["choices"][0]["message"]["content"] == GREETING
    assert [model["id"] for model in listing["data"]] == ["quart-qa-1"]


BIG = "x" * 70_000


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ("{not json", 400, None, "malformed_json"),
        ([1, 2], 400, None, "invalid_type"),
        (
            {"messages": [{"role": "user", "content": "hi"}]},
            400,
            "model",
            "missing_required_parameter",
        ),
        ({"model": "fast"}, 400, "messages", "missing_required_parameter"),
        ({"model": "fast", "messages": []}, 400, "messages", "invalid_value"),
        ({"model": "fast", "messages": "hi"}, 400, "messages", "invalid_type"),
        (
            {"model": "fast", "messages": [{"role": "robot", "content": "hi"}]},
            400,
            "messages[0].role",
            "invalid_value",
        ),
        (
            {"model": "fast", "messages": [{"role": "user", "content": 3}]},
            400,
            "messages[0].content",
            "invalid_type",
        ),
        (
            {"model": "fast", "messages": [{"role": "user", "content": [{"text": "x"}]}]},
            400,
            "messages[0].content[0].type",
            "missing_required_parameter",
        ),
        (chat(max_tokens=0), 400, "max_tokens", "invalid_value"),
        (chat(max_tokens="5"), 400, "max_tokens", "invalid_type"),
        (chat(stream="yes"), 400, "stream", "invalid_type"),
        (chat(stream_options={"include_usage": True}), 400, "stream_options", "invalid_value"),
        (chat(n=2), 400, "n", "invalid_value"),
        (chat(stop=["a", "b", "c", "d", "e"]), 400, "stop", "invalid_value"),
        (chat(stop=[1]), 400, "stop[0]", "invalid_type"),
        (chat("x" * 4001), 400, "messages", "context_length_exceeded"),
        ("[" * 60_000, 400, None, "malformed_json"),
        (chat(model=""), 400, "model", "invalid_value"),
        (chat(model="m" * 257), 400, "model", "invalid_value"),
        (chat(model="nope"), 404, "model", "model_not_found"),
        (chat(BIG), 413, None, "request_too_large"),
    ],
)
async def test_openai_errors_before_the_stream(
    client: Client, body: Any, status: int, param: str | None, code: str
) -> None:
    async with asyncio.timeout(TIMEOUT):
        if isinstance(body, str):
            response = await client.post(
                CHAT, data=body, headers={"Content-Type": "application/json"}
            )
        else:
            response = await client.post(CHAT, json=body)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    error = await body_of(response)
    assert list(error) == ["error"]
    assert list(error["error"]) == OPENAI_ERROR_KEYS
    assert error["error"]["type"] == "invalid_request_error"
    assert error["error"]["param"] == param
    assert error["error"]["code"] == code
    assert error["error"]["message"]


async def test_api_errors_from_hooks_use_the_api_shape(make_app: AppFactory) -> None:
    """Where auth and rate limits will plug in: an ApiError keeps its status and headers."""

    async def refuse() -> None:
        raise ApiError(429, "rate_limit_exceeded", "slow down", headers={"Retry-After": "7"})

    async with make_app(llm_settings()) as app:
        app.before_request_funcs.setdefault(openai_api.name, []).append(refuse)
        app.before_request_funcs.setdefault("anthropic_api", []).append(refuse)
        client = app.test_client()
        openai_response = await post(client, CHAT, chat())
        anthropic_response = await post(client, MESSAGES, anthropic())
    assert openai_response.status_code == 429
    assert openai_response.headers["Retry-After"] == "7"
    assert await body_of(openai_response) == {
        "error": {
            "message": "slow down",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    assert anthropic_response.status_code == 429
    assert anthropic_response.headers["Retry-After"] == "7"
    assert await body_of(anthropic_response) == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "slow down"},
    }


async def test_unexpected_errors_use_the_api_shape(
    app: Quart, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(get_llm_state(app), "plan", broken)
    openai_response = await post(client, CHAT, chat())
    anthropic_response = await post(client, MESSAGES, anthropic())
    assert openai_response.status_code == anthropic_response.status_code == 500
    assert (await body_of(openai_response))["error"]["type"] == "server_error"
    assert (await body_of(anthropic_response))["error"]["type"] == "api_error"


# --- Anthropic -------------------------------------------------------------------------------


anthropic_events = named_events


async def test_anthropic_stream(client: Client) -> None:
    events = anthropic_events(await stream_frames(client, MESSAGES, anthropic(stream=True)))
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * len(GREETING_TOKENS),
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]
    assert list(start) == ["type", "message"]
    message = start["message"]
    assert list(message) == [
        "id",
        "type",
        "role",
        "model",
        "content",
        "stop_reason",
        "stop_sequence",
        "usage",
    ]
    assert message["id"].startswith("msg_")
    assert message["type"] == "message"
    assert message["role"] == "assistant"
    assert message["model"] == "fast"
    assert message["content"] == []
    assert message["stop_reason"] is None
    assert message["usage"] == {"input_tokens": 1, "output_tokens": 0}
    assert events[1][1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    assert events[2][1] == {"type": "ping"}
    deltas = [data for name, data in events if name == "content_block_delta"]
    assert deltas[0] == {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hello"},
    }
    assert "".join(data["delta"]["text"] for data in deltas) == GREETING
    assert events[-3][1] == {"type": "content_block_stop", "index": 0}
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {  # input_tokens here too: langchain-anthropic reads usage only from here
            "input_tokens": 1,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": len(GREETING_TOKENS),
        },
    }
    assert events[-1][1] == {"type": "message_stop"}


@pytest.mark.parametrize(
    ("fields", "stop_reason", "stop_sequence", "text"),
    [
        ({"max_tokens": 2}, "max_tokens", None, "Hello there"),
        ({"stop_sequences": ["!"]}, "stop_sequence", "!", "Hello there"),
    ],
)
async def test_anthropic_stop_reasons(
    client: Client, fields: dict[str, Any], stop_reason: str, stop_sequence: str | None, text: str
) -> None:
    events = anthropic_events(
        await stream_frames(client, MESSAGES, anthropic(stream=True, **fields))
    )
    deltas = [data["delta"]["text"] for name, data in events if name == "content_block_delta"]
    assert "".join(deltas) == text
    message_delta = events[-2][1]
    assert message_delta["delta"] == {"stop_reason": stop_reason, "stop_sequence": stop_sequence}


async def test_anthropic_error_event_mid_stream(client: Client) -> None:
    events = anthropic_events(await stream_frames(client, MESSAGES, anthropic("fail", stream=True)))
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "error",
    ]
    assert events[-1][1] == {"type": "error", "error": {"type": "api_error", "message": FAILURE}}


async def test_anthropic_timeout_is_an_error_event(make_app: AppFactory) -> None:
    async with make_app(llm_settings(answer_timeout=0.1)) as app:
        frames = await stream_frames(app.test_client(), MESSAGES, anthropic("slow", stream=True))
    name, data = anthropic_events(frames)[-1]
    assert name == "error"
    assert data["error"]["type"] == "timeout_error"


async def test_anthropic_pings_keep_alive(make_app: AppFactory) -> None:
    settings = llm_settings({"thinker": {"ttft": 0.15}}, heartbeat=0.04)
    async with make_app(settings) as app:
        body = anthropic(stream=True, model="thinker", max_tokens=1)
        events = anthropic_events(await stream_frames(app.test_client(), MESSAGES, body))
    names = [name for name, _ in events]
    first_delta = names.index("content_block_delta")
    assert 2 <= names[:first_delta].count("ping") <= 4  # the opening ping, then keep-alives


async def test_anthropic_non_streaming(client: Client) -> None:
    response = await post(client, MESSAGES, anthropic())
    assert response.status_code == 200
    assert response.headers["request-id"].startswith("req_")
    body = await body_of(response)
    assert body == {
        "id": body["id"],
        "type": "message",
        "role": "assistant",
        "model": "fast",
        "content": [{"type": "text", "text": GREETING}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": len(GREETING_TOKENS)},
    }


async def test_anthropic_system_and_blocks_count_as_input(client: Client) -> None:
    body = anthropic(system=[{"type": "text", "text": "Be brief."}])
    body["messages"] = [
        {"role": "user", "content": [{"type": "text", "text": "fail"}]},
        {"role": "assistant", "content": "Partial answer"},
        {
            "role": "user",
            "content": [{"type": "image", "source": {}}, {"type": "text", "text": "hi"}],
        },
    ]
    answer = await body_of(await post(client, MESSAGES, body))
    assert answer["content"][0]["text"] == GREETING
    assert answer["usage"]["input_tokens"] == 3 + 1 + 2 + 1


async def test_anthropic_non_streaming_failure(client: Client) -> None:
    response = await post(client, MESSAGES, anthropic("fail"))
    assert response.status_code == 500
    assert await body_of(response) == {
        "type": "error",
        "error": {"type": "api_error", "message": FAILURE},
    }


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ("{oops", 400, "invalid_request_error"),
        (
            {"model": "fast", "messages": [{"role": "user", "content": "hi"}]},
            400,
            "invalid_request_error",
        ),
        (anthropic(max_tokens=0), 400, "invalid_request_error"),
        (
            {**anthropic(), "messages": [{"role": "system", "content": "x"}]},
            400,
            "invalid_request_error",
        ),
        ("[" * 60_000, 400, "invalid_request_error"),
        (anthropic(model="nope"), 404, "not_found_error"),
        (anthropic(BIG), 413, "request_too_large"),
    ],
)
async def test_anthropic_errors_before_the_stream(
    client: Client, body: Any, status: int, kind: str
) -> None:
    async with asyncio.timeout(TIMEOUT):
        if isinstance(body, str):
            response = await client.post(
                MESSAGES, data=body, headers={"Content-Type": "application/json"}
            )
        else:
            response = await client.post(MESSAGES, json=body)
    assert response.status_code == status
    error = await body_of(response)
    assert list(error) == ["type", "error"]
    assert error["type"] == "error"
    assert list(error["error"]) == ["type", "message"]
    assert error["error"]["type"] == kind
    assert error["error"]["message"]


async def test_anthropic_model_listing(client: Client) -> None:
    headers = {"anthropic-version": "2023-06-01"}
    listing = await body_of(await client.get("/v1/models", headers=headers))
    assert [model["id"] for model in listing["data"]] == ["fast", "parts", "slow"]
    assert listing["has_more"] is False
    assert listing["first_id"] == "fast"
    assert listing["last_id"] == "slow"
    assert listing["data"][0]["type"] == "model"
    assert listing["data"][0]["created_at"].endswith("Z")
    missing = await client.get("/v1/models/nope", headers=headers)
    assert missing.status_code == 404
    assert (await body_of(missing))["error"]["type"] == "not_found_error"


# --- Disconnect ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (CHAT, chat("long", stream=True)),
        (MESSAGES, anthropic("long", stream=True, max_tokens=10_000)),
    ],
    ids=["openai", "anthropic"],
)
async def test_disconnect_stops_the_generation(
    app: Quart, client: Client, path: str, body: dict[str, Any]
) -> None:
    tracker = get_llm_state(app).tracker
    async with asyncio.timeout(TIMEOUT):
        async with client.request(
            path, method="POST", headers={"Content-Type": "application/json"}
        ) as connection:
            await connection.send(json.dumps(body).encode())
            await connection.send_complete()
            seen = 0
            while seen < 3:  # three "wordN" tokens have arrived
                seen += (await connection.receive()).count(b"word")
            assert tracker.running == 1
            await connection.disconnect()
        await tracker.wait_idle()
    assert tracker.running == 0
    assert tracker.outcomes == {"disconnected": 1}
    # 200 parts of two tokens, 20 ms apart: stopping at once leaves almost all of them unsent.
    assert 3 <= tracker.deltas < 2 * LONG_PARTS // 4

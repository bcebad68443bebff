"""The wire format of tool calls, reasoning and structured output in Chat Completions and
Anthropic Messages, through the Quart test client (field presence, key order, event order)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from quart.typing import TestClientProtocol as Client

from quart_qa.dialects.anthropic_message import signature
from quart_qa.settings.config import Settings
from tests.support.agents import (
    AFTER_WEATHER_THINKING,
    PLAIN,
    RECIPE,
    RECIPE_SCHEMA,
    TOOL_FAILURE,
    WEATHER_ARGUMENTS,
    WEATHER_SCHEMA,
    WEATHER_THINKING,
    agent_settings,
)
from tests.support.frames import body_of, named_events, openai_chunks, post, stream_frames

CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
CHAT_TOOLS = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_SCHEMA},
    }
]
ANTHROPIC_TOOLS = [
    {"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}
]
ARGUMENTS_JSON = json.dumps(WEATHER_ARGUMENTS, separators=(",", ":"))
HUGE = {"type": "object", "properties": {"rows": {"type": "array", "minItems": 10**7}}}
HUGE_TOOLS = [{"type": "function", "function": {"name": "dump", "parameters": HUGE}}]


@pytest.fixture
def settings() -> Settings:
    return agent_settings()


def chat(question: str, **fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": question}], **fields}


def anthropic(question: str, **fields: Any) -> dict[str, Any]:
    return {
        "model": "m",
        "max_tokens": 1000,
        "messages": [{"role": "user", "content": question}],
        **fields,
    }


def deltas(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk["choices"][0]["delta"] for chunk in chunks if chunk["choices"]]


# --- Chat Completions ------------------------------------------------------------------------


async def test_chat_streams_reasoning_then_a_tool_call(client: Client) -> None:
    body = chat(
        "weather in Paris?", stream=True, tools=CHAT_TOOLS, stream_options={"include_usage": True}
    )
    chunks = openai_chunks(await stream_frames(client, CHAT, body))
    role, *middle, finish, usage = chunks
    assert role["choices"][0]["delta"] == {"role": "assistant", "content": None, "refusal": None}
    thinking = [delta for delta in deltas(middle) if "reasoning_content" in delta]
    assert "".join(delta["reasoning_content"] for delta in thinking) == WEATHER_THINKING
    assert all(list(delta) == ["reasoning_content"] for delta in thinking)
    calls = [delta["tool_calls"] for delta in deltas(middle) if "tool_calls" in delta]
    header = calls[0]
    assert header == [
        {
            "index": 0,
            "id": header[0]["id"],
            "type": "function",
            "function": {"name": "get_weather", "arguments": ""},
        }
    ]
    assert header[0]["id"].startswith("call_")
    fragments = calls[1:]
    assert all(list(fragment[0]) == ["index", "function"] for fragment in fragments)
    assert len(fragments) > 1  # the arguments stream in pieces
    assert "".join(fragment[0]["function"]["arguments"] for fragment in fragments) == ARGUMENTS_JSON
    assert finish["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "tool_calls",
    }
    assert usage["usage"]["completion_tokens"] == len(thinking) + len(calls) - 1
    assert usage["usage"]["completion_tokens_details"] == {"reasoning_tokens": len(thinking)}


async def test_chat_numbers_parallel_tool_calls(client: Client) -> None:
    body = chat("two cities please", stream=True, tools=CHAT_TOOLS)
    calls = [
        d["tool_calls"][0]
        for d in deltas(openai_chunks(await stream_frames(client, CHAT, body)))
        if "tool_calls" in d
    ]
    headers = [call for call in calls if "id" in call]
    assert [call["index"] for call in headers] == [0, 1]
    assert headers[0]["id"] != headers[1]["id"]
    by_index: dict[int, str] = {0: "", 1: ""}
    for call in calls:
        by_index[call["index"]] += call["function"]["arguments"]
    assert json.loads(by_index[1]) == {"city": "Oslo", "unit": "celsius"}


async def test_chat_whole_answer_with_a_tool_call(client: Client) -> None:
    answer = await body_of(await post(client, CHAT, chat("weather?", tools=CHAT_TOOLS)))
    choice = answer["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    message = choice["message"]
    assert list(message) == ["role", "content", "refusal", "reasoning_content", "tool_calls"]
    assert message["content"] is None
    assert message["reasoning_content"] == WEATHER_THINKING
    (call,) = message["tool_calls"]
    assert list(call) == ["id", "type", "function"]
    assert call["function"] == {"name": "get_weather", "arguments": ARGUMENTS_JSON}


async def test_chat_answers_after_the_tool_result(client: Client) -> None:
    body = {
        "model": "m",
        "tools": CHAT_TOOLS,
        "messages": [
            {"role": "user", "content": "weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ARGUMENTS_JSON},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 °C"},
        ],
    }
    message = (await body_of(await post(client, CHAT, body)))["choices"][0]["message"]
    assert message["content"] == "Here is the weather: sunny, 21 °C"
    assert message["reasoning_content"] == AFTER_WEATHER_THINKING
    assert "tool_calls" not in message


async def test_chat_without_tools_gets_the_scripted_text(client: Client) -> None:
    answer = await body_of(await post(client, CHAT, chat("weather?")))
    assert answer["choices"][0]["message"]["content"] == PLAIN
    assert answer["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize(
    "choice", ["required", {"type": "function", "function": {"name": "get_weather"}}]
)
async def test_chat_forced_tool_gets_schema_valid_arguments(client: Client, choice: Any) -> None:
    body = chat("hello", tools=CHAT_TOOLS, tool_choice=choice)
    first = await body_of(await post(client, CHAT, body))
    (call,) = first["choices"][0]["message"]["tool_calls"]
    jsonschema.validate(json.loads(call["function"]["arguments"]), WEATHER_SCHEMA)
    again = await body_of(await post(client, CHAT, body))
    assert again["choices"][0]["message"]["tool_calls"][0]["function"] == call["function"]


async def test_chat_json_schema_format(client: Client) -> None:
    form = {"type": "json_schema", "json_schema": {"name": "weather", "schema": WEATHER_SCHEMA}}
    answer = await body_of(await post(client, CHAT, chat("hello", response_format=form)))
    jsonschema.validate(json.loads(answer["choices"][0]["message"]["content"]), WEATHER_SCHEMA)
    form = {"type": "json_schema", "json_schema": {"name": "recipe", "schema": RECIPE_SCHEMA}}
    chunks = openai_chunks(
        await stream_frames(client, CHAT, chat("a recipe", stream=True, response_format=form))
    )
    assert json.loads("".join(d.get("content") or "" for d in deltas(chunks))) == RECIPE


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tools": {"a": 1}}, "tools"),
        ({"tools": [{"type": "function"}]}, "tools[0].function"),
        ({"tools": [{"type": "function", "function": {}}]}, "tools[0].function.name"),
        (
            {
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
                "tools": CHAT_TOOLS,
            },
            "tool_choice",
        ),
        ({"tool_choice": 3}, "tool_choice"),
        ({"response_format": {"type": "yaml"}}, "response_format.type"),
        (
            {"tools": HUGE_TOOLS, "tool_choice": "required"},
            "tools[0].function.parameters",
        ),
        (
            {"response_format": {"type": "json_schema", "json_schema": {"schema": []}}},
            "response_format.json_schema.schema",
        ),
    ],
)
async def test_chat_bad_tools_and_formats_name_the_field(
    client: Client, fields: dict[str, Any], param: str
) -> None:
    response = await post(client, CHAT, chat("hello", **fields))
    assert response.status_code == 400
    error = (await body_of(response))["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert error["message"]


# --- Anthropic Messages ----------------------------------------------------------------------


async def test_anthropic_streams_thinking_then_tool_use(client: Client) -> None:
    body = anthropic("weather in Paris?", stream=True, tools=ANTHROPIC_TOOLS)
    events = named_events(await stream_frames(client, MESSAGES, body))
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    starts = [data for name, data in events if name == "content_block_start"]
    assert starts[0] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    }
    tool_use = starts[1]["content_block"]
    assert starts[1]["index"] == 1
    assert tool_use == {
        "type": "tool_use",
        "id": tool_use["id"],
        "name": "get_weather",
        "input": {},
    }
    assert tool_use["id"].startswith("toolu_")
    block_deltas = [data for name, data in events if name == "content_block_delta"]
    thinking = [d["delta"] for d in block_deltas if d["index"] == 0]
    assert {delta["type"] for delta in thinking[:-1]} == {"thinking_delta"}
    assert "".join(delta["thinking"] for delta in thinking[:-1]) == WEATHER_THINKING
    assert thinking[-1] == {"type": "signature_delta", "signature": signature(WEATHER_THINKING)}
    arguments = [d["delta"] for d in block_deltas if d["index"] == 1]
    assert {delta["type"] for delta in arguments} == {"input_json_delta"}
    assert json.loads("".join(delta["partial_json"] for delta in arguments)) == WEATHER_ARGUMENTS
    stops = [data["index"] for name, data in events if name == "content_block_stop"]
    assert stops == [0, 1]
    # Each block stops before the next one starts.
    assert names.index("content_block_stop") < names.index("content_block_start", 2)
    message_delta = events[-2][1]
    assert message_delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert list(message_delta["usage"]) == [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "output_tokens",
    ]
    assert message_delta["usage"]["output_tokens"] == len(thinking) - 1 + len(arguments)


async def test_anthropic_whole_message_with_thinking_and_tool_use(client: Client) -> None:
    message = await body_of(
        await post(client, MESSAGES, anthropic("weather?", tools=ANTHROPIC_TOOLS))
    )
    assert message["stop_reason"] == "tool_use"
    thinking, tool_use = message["content"]
    assert thinking == {
        "type": "thinking",
        "thinking": WEATHER_THINKING,
        "signature": signature(WEATHER_THINKING),
    }
    assert tool_use["input"] == WEATHER_ARGUMENTS
    assert list(tool_use) == ["type", "id", "name", "input"]


async def test_anthropic_answers_after_the_tool_result(client: Client) -> None:
    body = anthropic("weather in Paris?", tools=ANTHROPIC_TOOLS)
    body["messages"] += [
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": WEATHER_THINKING, "signature": "x"},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": WEATHER_ARGUMENTS,
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "rainy"}],
                }
            ],
        },
    ]
    message = await body_of(await post(client, MESSAGES, body))
    assert message["stop_reason"] == "end_turn"
    assert [block["type"] for block in message["content"]] == ["thinking", "text"]
    assert message["content"][1]["text"] == "Here is the weather: rainy"


async def test_anthropic_forced_tool_and_structured_output(client: Client) -> None:
    forced = anthropic("hello", tools=ANTHROPIC_TOOLS, tool_choice={"type": "any"})
    (tool_use,) = (await body_of(await post(client, MESSAGES, forced)))["content"]
    jsonschema.validate(tool_use["input"], WEATHER_SCHEMA)
    structured = anthropic(
        "a recipe", output_config={"format": {"type": "json_schema", "schema": RECIPE_SCHEMA}}
    )
    (text,) = (await body_of(await post(client, MESSAGES, structured)))["content"]
    assert json.loads(text["text"]) == RECIPE


async def test_anthropic_failure_inside_a_tool_call(client: Client) -> None:
    body = anthropic("broken tool", stream=True, tools=ANTHROPIC_TOOLS)
    events = named_events(await stream_frames(client, MESSAGES, body))
    assert [name for name, _ in events][-2:] == ["content_block_delta", "error"]
    assert "content_block_stop" not in [name for name, _ in events]
    assert events[-1][1] == {
        "type": "error",
        "error": {"type": "api_error", "message": TOOL_FAILURE},
    }

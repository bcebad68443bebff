"""The exact wire format of ``POST /v1/responses`` through the Quart test client: the event
sequence, numbering, output items, failures, continuation and the Responses API's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from quart_qa.dialects.api_responses import compact_json
from quart_qa.dialects.response_store import ResponseStore
from quart_qa.dialects.responses_object import ResponseFrames, response_object
from quart_qa.dialects.responses_request import parse_responses_request
from quart_qa.dialects.state import get_llm_state
from quart_qa.settings.config import Settings
from quart_qa.streaming.playback import Finished
from quart_qa.streaming.sse import encode_event
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
from tests.support.frames import body_of, named_events, post, stream_frames

RESPONSES = "/v1/responses"
TOOLS = [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}]
RESPONSE_KEYS = [
    "id",
    "object",
    "created_at",
    "status",
    "background",
    "error",
    "incomplete_details",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "model",
    "output",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt_cache_key",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "usage",
    "user",
    "metadata",
]


@pytest.fixture
def settings() -> Settings:
    return agent_settings()


def request(question: Any = "hello", **fields: Any) -> dict[str, Any]:
    return {"model": "m", "input": question, **fields}


async def events_of(client: Client, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    events = named_events(await stream_frames(client, RESPONSES, {**body, "stream": True}))
    assert [data["sequence_number"] for _, data in events] == list(range(len(events)))
    assert all(list(data)[:2] == ["type", "sequence_number"] for _, data in events)
    return events


async def test_text_answer_event_sequence(client: Client) -> None:
    events = await events_of(client, request(instructions="Be brief."))
    names = [name for name, _ in events]
    deltas = names.count("response.output_text.delta")
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * deltas,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = events[0][1]["response"]
    assert list(created) == RESPONSE_KEYS
    assert created["id"].startswith("resp_")
    assert created["status"] == "in_progress"
    assert created["output"] == []
    assert created["usage"] is None
    assert created["instructions"] == "Be brief."
    added = events[2][1]
    item_id = added["item"]["id"]
    assert added == {
        "type": "response.output_item.added",
        "sequence_number": 2,
        "output_index": 0,
        "item": {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        },
    }
    assert item_id.startswith("msg_")
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    assert events[3][1]["part"] == part
    first_delta = events[4][1]
    assert list(first_delta) == [
        "type",
        "sequence_number",
        "item_id",
        "output_index",
        "content_index",
        "delta",
        "logprobs",
    ]
    text = "".join(data["delta"] for name, data in events if name == "response.output_text.delta")
    assert text == PLAIN
    assert events[-4][1]["text"] == PLAIN
    assert events[-3][1]["part"] == {**part, "text": PLAIN}
    done_item = events[-2][1]["item"]
    assert done_item == {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "content": [{**part, "text": PLAIN}],
        "role": "assistant",
    }
    completed = events[-1][1]["response"]
    assert completed["id"] == created["id"]
    assert completed["status"] == "completed"
    assert completed["output"] == [done_item]
    assert completed["usage"] == {
        "input_tokens": 1 + 3,  # "hello", then "Be", " brief", "."
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": deltas,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 4 + deltas,
    }


async def test_reasoning_and_function_call_items(client: Client) -> None:
    events = await events_of(client, request("weather?", tools=TOOLS))
    names = [name for name, _ in events]
    summary = names.count("response.reasoning_summary_text.delta")
    arguments = names.count("response.function_call_arguments.delta")
    assert names == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * summary,
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * arguments,
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    reasoning_item = events[2][1]["item"]
    assert reasoning_item == {"id": reasoning_item["id"], "type": "reasoning", "summary": []}
    assert reasoning_item["id"].startswith("rs_")
    summary_deltas = [
        data for name, data in events if name == "response.reasoning_summary_text.delta"
    ]
    assert list(summary_deltas[0]) == [
        "type",
        "sequence_number",
        "item_id",
        "output_index",
        "summary_index",
        "delta",
    ]
    assert "".join(data["delta"] for data in summary_deltas) == WEATHER_THINKING
    call_added = events[names.index("response.output_item.added", 3)][1]
    call = call_added["item"]
    assert call_added["output_index"] == 1
    assert call == {
        "id": call["id"],
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call["call_id"],
        "name": "get_weather",
    }
    assert call["id"].startswith("fc_")
    assert call["call_id"].startswith("call_")
    fragments = [data for name, data in events if name == "response.function_call_arguments.delta"]
    assert list(fragments[0]) == ["type", "sequence_number", "item_id", "output_index", "delta"]
    joined = "".join(data["delta"] for data in fragments)
    assert json.loads(joined) == WEATHER_ARGUMENTS
    done = events[names.index("response.function_call_arguments.done")][1]
    assert done["arguments"] == joined
    completed = events[-1][1]["response"]
    assert [item["type"] for item in completed["output"]] == ["reasoning", "function_call"]
    assert completed["output"][0]["summary"] == [{"type": "summary_text", "text": WEATHER_THINKING}]
    assert completed["output"][1]["status"] == "completed"
    assert completed["usage"]["output_tokens_details"] == {"reasoning_tokens": summary}


async def test_failure_is_an_error_event_then_response_failed(client: Client) -> None:
    events = await events_of(client, request("broken tool", tools=TOOLS))
    names = [name for name, _ in events]
    assert names[-2:] == ["error", "response.failed"]
    assert "response.completed" not in names
    assert events[-2][1]["error"] == {
        "type": "server_error",
        "code": "simulated_failure",
        "message": TOOL_FAILURE,
        "param": None,
    }
    failed = events[-1][1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "simulated_failure", "message": TOOL_FAILURE}


async def test_max_output_tokens_makes_it_incomplete(client: Client) -> None:
    events = await events_of(client, request(max_output_tokens=2))
    assert events[-1][0] == "response.incomplete"
    response = events[-1][1]["response"]
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["usage"]["output_tokens"] == 2


@pytest.mark.parametrize(
    "echo",
    [
        {"instructions": "Sé breve \u2028 «ok»", "metadata": {"k": "v"}, "temperature": 0.5},
        {"instructions": "\x00\n", "user": "\x03", "max_output_tokens": 16},
    ],
)
async def test_the_response_rendered_once_a_stream_is_the_whole_objects_bytes(
    app: Quart, echo: dict[str, Any]
) -> None:
    parsed = parse_responses_request(get_llm_state(app), request("hi", **echo))
    frames = ResponseFrames(parsed, "resp_1", 1700000000)
    item = {"id": "msg_1", "type": "message", "status": "completed", "content": []}
    end = Finished("length", 7, reasoning_tokens=2)
    states: list[tuple[str, str, list[dict[str, Any]], Finished | None, Any]] = [
        ("response.created", "in_progress", [], None, None),
        ("response.in_progress", "in_progress", [], None, None),
        ("response.incomplete", "incomplete", [item], end, None),
        ("response.completed", "completed", [item], Finished("stop", 3), None),
        ("response.failed", "failed", [item], None, {"code": "x", "message": "ü"}),
    ]
    for number, (kind, status, output, finished, error) in enumerate(states):
        whole = response_object(parsed, "resp_1", 1700000000, status, output, finished, error)
        data = {"type": kind, "sequence_number": number, "response": whole}
        expected = encode_event(compact_json(data), event=kind)
        assert frames.event(kind, number, status, output, finished, error) == expected


async def test_whole_response(client: Client) -> None:
    response = await post(client, RESPONSES, request("weather?", tools=TOOLS))
    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")
    body = await body_of(response)
    assert list(body) == RESPONSE_KEYS
    assert body["status"] == "completed"
    reasoning, call = body["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": WEATHER_THINKING}]
    assert json.loads(call["arguments"]) == WEATHER_ARGUMENTS
    assert body["tools"] == TOOLS


async def test_json_schema_format(client: Client) -> None:
    form = {
        "format": {"type": "json_schema", "name": "recipe", "schema": RECIPE_SCHEMA, "strict": True}
    }
    body = await body_of(await post(client, RESPONSES, request("a recipe", text=form)))
    (message,) = body["output"]
    assert json.loads(message["content"][0]["text"]) == RECIPE
    assert body["text"]["format"] == form["format"]


async def test_previous_response_id_continues_the_conversation(client: Client) -> None:
    first = await body_of(await post(client, RESPONSES, request("weather?", tools=TOOLS)))
    call = first["output"][1]
    result = {"type": "function_call_output", "call_id": call["call_id"], "output": "foggy"}
    body = request([result], tools=TOOLS, previous_response_id=first["id"])
    second = await body_of(await post(client, RESPONSES, body))
    assert second["previous_response_id"] == first["id"]
    reasoning, message = second["output"]
    assert reasoning["summary"][0]["text"] == AFTER_WEATHER_THINKING
    assert message["content"][0]["text"] == "Here is the weather: foggy"


async def test_item_references_resolve_to_remembered_items(client: Client) -> None:
    first = await body_of(await post(client, RESPONSES, request("weather?", tools=TOOLS)))
    reasoning, call = first["output"]
    items = [
        {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
        {"type": "item_reference", "id": reasoning["id"]},
        {"type": "item_reference", "id": call["id"]},
        {"type": "function_call_output", "call_id": call["call_id"], "output": "snow"},
    ]
    second = await body_of(await post(client, RESPONSES, request(items, tools=TOOLS)))
    assert second["output"][-1]["content"][0]["text"] == "Here is the weather: snow"


async def test_unknown_previous_response_is_a_404(client: Client) -> None:
    response = await post(client, RESPONSES, request(previous_response_id="resp_gone"))
    assert response.status_code == 404
    assert await body_of(response) == {
        "error": {
            "message": "Previous response with id 'resp_gone' not found.",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "previous_response_not_found",
        }
    }


async def test_store_false_is_not_remembered(app: Quart, client: Client) -> None:
    first = await body_of(await post(client, RESPONSES, request(store=False)))
    assert first["store"] is False
    assert get_llm_state(app).responses.items(first["id"]) is None
    response = await post(client, RESPONSES, request(previous_response_id=first["id"]))
    assert response.status_code == 404


def test_the_store_forgets_the_oldest_first() -> None:
    store = ResponseStore(limit=2)
    for number in range(3):
        store.remember(f"resp_{number}", [{"id": f"msg_{number}", "type": "message"}])
    assert len(store) == 2
    assert store.items("resp_0") is None
    assert store.items("resp_2") == ({"id": "msg_2", "type": "message"},)
    assert store.item("msg_1") == {"id": "msg_1", "type": "message"}
    assert store.item("msg_0") is None


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": "m"}, "input"),
        (request(3), "input"),
        (request([1]), "input[0]"),
        (request([{"role": "robot", "content": "x"}]), "input[0].role"),
        (request([{"role": "user", "content": 3}]), "input[0].content"),
        (request([{"type": "function_call_output", "output": "x"}]), "input[0].call_id"),
        (request(tools=[{"type": "function"}]), "tools[0].name"),
        (request(tool_choice={"type": "function", "name": "nope"}), "tool_choice"),
        (request(text={"format": {"type": "xml"}}), "text.format.type"),
        (request(max_output_tokens=0), "max_output_tokens"),
        (request(instructions=5), "instructions"),
    ],
)
async def test_bad_requests_name_the_field(
    client: Client, body: dict[str, Any], param: str
) -> None:
    response = await post(client, RESPONSES, body)
    assert response.status_code == 400
    error = (await body_of(response))["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"


# --- 404 and 405 under /v1 -------------------------------------------------------------------


async def test_unknown_v1_endpoint_in_openai_shape(client: Client) -> None:
    response = await post(client, "/v1/embeddings", {"model": "m", "input": "x"})
    assert response.status_code == 404
    error = (await body_of(response))["error"]
    assert list(error) == ["message", "type", "param", "code"]
    assert error["type"] == "invalid_request_error"
    assert "POST /v1/embeddings" in error["message"]


async def test_unknown_v1_endpoint_in_anthropic_shape(client: Client) -> None:
    headers = {"anthropic-version": "2023-06-01"}
    response = await post(client, "/v1/messages/batches", {}, headers=headers)
    assert response.status_code == 404
    body = await body_of(response)
    assert body["type"] == "error"
    assert body["error"]["type"] == "not_found_error"
    assert "/v1/messages/batches" in body["error"]["message"]


async def test_wrong_method_under_v1(client: Client) -> None:
    response = await client.get("/v1/chat/completions")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    error = (await body_of(response))["error"]
    assert "GET /v1/chat/completions" in error["message"]
    assert "POST" in error["message"]


async def test_other_paths_keep_the_chat_page_shape(client: Client) -> None:
    response = await client.get("/qa/nowhere")
    assert response.status_code == 404
    assert (await body_of(response))["error"] == "not_found"

"""Agent loops with the official SDKs against a real server: tools, reasoning, structured
output over Chat Completions, the Responses API and Anthropic Messages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import anthropic
import openai
import pytest
from openai import OpenAI
from pydantic import BaseModel

from tests.support.agents import (
    AFTER_WEATHER_THINKING,
    RECIPE,
    TOOL_FAILURE,
    WEATHER_ARGUMENTS,
    WEATHER_SCHEMA,
    WEATHER_THINKING,
    agent_settings,
)
from tests.support.llm_server import ThreadedServer

MODEL = "agent"
QUESTION = "What is the weather in Paris?"
SDK_TIMEOUT = 10.0


class GetWeather(BaseModel):
    """The current weather in a city."""

    city: str
    unit: Literal["celsius", "fahrenheit"]


class Ingredient(BaseModel):
    item: str
    amount: str


class Recipe(BaseModel):
    name: str
    servings: int
    ingredients: list[Ingredient]


def run_weather(arguments: dict[str, Any]) -> str:
    """The tool the agent loops run: the result the follow-up answer must quote."""
    return json.dumps({"city": arguments["city"], "temperature": 21, "sky": "sunny"})


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(agent_settings({MODEL: {}})) as server:
        yield server


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[OpenAI]:
    with OpenAI(
        base_url=f"{server.url}/v1", api_key="dummy", max_retries=0, timeout=SDK_TIMEOUT
    ) as client:
        yield client


@pytest.fixture
def claude(server: ThreadedServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=server.url, api_key="dummy", max_retries=0, timeout=SDK_TIMEOUT
    ) as client:
        yield client


# --- Chat Completions ------------------------------------------------------------------------


def test_chat_agent_loop_with_the_stream_helper(client: OpenAI) -> None:
    tools = [openai.pydantic_function_tool(GetWeather, name="get_weather")]
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    seen: set[str] = set()
    with client.chat.completions.stream(model=MODEL, messages=messages, tools=tools) as stream:
        for event in stream:
            seen.add(event.type)
        first = stream.get_final_completion()
    assert "tool_calls.function.arguments.delta" in seen
    assert "tool_calls.function.arguments.done" in seen
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert json.loads(call.function.arguments) == WEATHER_ARGUMENTS  # accumulated to valid JSON
    assert call.function.parsed_arguments == GetWeather.model_validate(WEATHER_ARGUMENTS)
    result = run_weather(json.loads(call.function.arguments))
    messages += [
        choice.message.model_dump(exclude_none=True, exclude={"parsed"}),
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    with client.chat.completions.stream(model=MODEL, messages=messages, tools=tools) as stream:
        text = "".join(event.delta for event in stream if event.type == "content.delta")
        second = stream.get_final_completion()
    assert text == f"Here is the weather: {result}"
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.tool_calls is None


def test_chat_parse_with_a_pydantic_model(client: OpenAI) -> None:
    completion = client.chat.completions.parse(
        model=MODEL,
        messages=[{"role": "user", "content": "A recipe, please"}],
        response_format=Recipe,
    )
    assert completion.choices[0].message.parsed == Recipe.model_validate(RECIPE)


def test_chat_reasoning_content_reaches_the_client(client: OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": QUESTION}],
        tools=[
            {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}
        ],
    )
    extra = completion.choices[0].message.model_extra or {}
    assert extra["reasoning_content"] == WEATHER_THINKING
    assert completion.usage is not None
    details = completion.usage.completion_tokens_details
    assert details is not None
    assert details.reasoning_tokens


# --- Responses API ---------------------------------------------------------------------------


RESPONSES_TOOLS: list[Any] = [
    {"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": True}
]


def test_responses_stream_events(client: OpenAI) -> None:
    with client.responses.stream(model=MODEL, input=QUESTION, tools=RESPONSES_TOOLS) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    reasoning = "".join(
        event.delta for event in events if event.type == "response.reasoning_summary_text.delta"
    )
    assert reasoning == WEATHER_THINKING
    arguments = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(arguments) > 1
    assert arguments[-1].snapshot == json.dumps(WEATHER_ARGUMENTS, separators=(",", ":"))
    kinds_out = [item.type for item in final.output]
    assert kinds_out == ["reasoning", "function_call"]
    call = final.output[1]
    assert call.type == "function_call"
    assert json.loads(call.arguments) == WEATHER_ARGUMENTS
    assert final.usage is not None
    assert final.usage.output_tokens_details.reasoning_tokens == len(
        [e for e in events if e.type == "response.reasoning_summary_text.delta"]
    )


def test_responses_agent_loop_with_previous_response_id(client: OpenAI) -> None:
    first = client.responses.create(model=MODEL, input=QUESTION, tools=RESPONSES_TOOLS)
    (call,) = [item for item in first.output if item.type == "function_call"]
    result = run_weather(json.loads(call.arguments))
    with client.responses.stream(
        model=MODEL,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": result}],
        tools=RESPONSES_TOOLS,
    ) as stream:
        text = "".join(
            event.delta for event in stream if event.type == "response.output_text.delta"
        )
        second = stream.get_final_response()
    assert text == f"Here is the weather: {result}"
    assert second.output_text == text
    assert second.previous_response_id == first.id
    summaries = [item for item in second.output if item.type == "reasoning"]
    assert summaries[0].summary[0].text == AFTER_WEATHER_THINKING


def test_responses_agent_loop_resending_the_items(client: OpenAI) -> None:
    """Without ``previous_response_id``: the whole conversation goes back as input items."""
    items: list[Any] = [{"role": "user", "content": QUESTION}]
    first = client.responses.create(model=MODEL, input=items, tools=RESPONSES_TOOLS, store=False)
    items += [item.model_dump(exclude_none=True) for item in first.output]
    for call in (item for item in first.output if item.type == "function_call"):
        items.append({"type": "function_call_output", "call_id": call.call_id, "output": "hail"})
    second = client.responses.create(model=MODEL, input=items, tools=RESPONSES_TOOLS)
    assert second.output_text == "Here is the weather: hail"


def test_responses_parse_with_a_pydantic_model(client: OpenAI) -> None:
    response = client.responses.parse(model=MODEL, input="A recipe, please", text_format=Recipe)
    assert response.output_parsed == Recipe.model_validate(RECIPE)


def test_responses_failure_mid_stream_raises(client: OpenAI) -> None:
    seen: list[str] = []

    def read_all() -> None:
        with client.responses.stream(
            model=MODEL, input="broken tool", tools=RESPONSES_TOOLS
        ) as stream:
            seen.extend(event.type for event in stream)

    with pytest.raises(openai.APIError, match=TOOL_FAILURE):
        read_all()
    assert "response.function_call_arguments.delta" in seen  # it failed mid-call


def test_responses_unknown_previous_response_is_a_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.create(model=MODEL, input="hi", previous_response_id="resp_nope")
    assert "resp_nope" in caught.value.message


def test_unknown_endpoints_name_themselves(client: OpenAI, claude: anthropic.Anthropic) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model=MODEL, input="hi")
    assert "/v1/embeddings" in caught.value.message
    with pytest.raises(anthropic.NotFoundError) as anthropic_caught:
        claude.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert "/v1/messages/count_tokens" in anthropic_caught.value.message


# --- Anthropic Messages ----------------------------------------------------------------------


ANTHROPIC_TOOLS: list[Any] = [
    {"name": "get_weather", "description": "The weather in a city", "input_schema": WEATHER_SCHEMA}
]


def test_anthropic_stream_with_thinking_and_tool_use(claude: anthropic.Anthropic) -> None:
    messages: list[Any] = [{"role": "user", "content": QUESTION}]
    with claude.messages.stream(
        model=MODEL, max_tokens=1024, messages=messages, tools=ANTHROPIC_TOOLS
    ) as stream:
        kinds = {event.type for event in stream}
        message = stream.get_final_message()
    assert {"thinking", "signature", "input_json"} <= kinds
    thinking, tool_use = message.content
    assert thinking.type == "thinking"
    assert thinking.thinking == WEATHER_THINKING
    assert thinking.signature
    assert tool_use.type == "tool_use"
    assert tool_use.input == WEATHER_ARGUMENTS  # the scripted dict, parsed from the fragments
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens > 0
    result = run_weather(tool_use.input)
    messages += [
        {"role": "assistant", "content": message.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": result}],
        },
    ]
    with claude.messages.stream(
        model=MODEL, max_tokens=1024, messages=messages, tools=ANTHROPIC_TOOLS
    ) as stream:
        text = "".join(stream.text_stream)
        answer = stream.get_final_message()
    assert text == f"Here is the weather: {result}"
    assert answer.stop_reason == "end_turn"
    assert [block.type for block in answer.content] == ["thinking", "text"]

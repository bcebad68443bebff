"""Answering in the shape a request asks for: forced tool calls, JSON objects, tool results."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from quart_qa.dialects.schema_values import SchemaNotSupported, SchemaValues
from quart_qa.dialects.shaping import (
    AnswerRequest,
    CannotShape,
    OutputFormat,
    ToolChoice,
    ToolSpec,
    shape_steps,
)
from quart_qa.settings.answer_parsing import rules_from_list
from quart_qa.settings.answers import Conversation, choose_rule

FORECAST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "minLength": 2},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
        "when": {"type": "string", "format": "date-time"},
        "code": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{2}$"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "place": {"$ref": "#/$defs/Place"},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["city", "unit", "days", "when", "code", "tags", "place", "note"],
    "additionalProperties": False,
    "$defs": {
        "Place": {
            "type": "object",
            "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}},
            "required": ["lat", "lon"],
            "additionalProperties": False,
        }
    },
}
WEATHER = ToolSpec("get_weather", FORECAST, "tools[0]")
CLOCK = ToolSpec("get_time", {"type": "object", "properties": {}}, "tools[1]")
RULES = rules_from_list(
    [
        {"after_tool": "get_weather", "steps": [{"text": "It is {tool_result}."}]},
        {"match": "clock", "steps": [{"reasoning": "Time."}, {"tool": "get_time"}]},
        {"match": "recipe", "steps": [{"text": "Here:"}, {"object": {"dish": "soup"}}]},
        {"steps": [{"reasoning": "Easy."}, {"text": "Plain answer."}]},
    ]
)
VALUES = SchemaValues()


def shaped(request: AnswerRequest) -> list[tuple[str, str | None, str]]:
    rule = choose_rule(RULES, request.matching)
    return [(step.kind, step.tool, step.text) for step in shape_steps(rule, request, VALUES)]


def test_offered_tools_alone_leave_the_scripted_text() -> None:
    request = AnswerRequest(Conversation("hi"), (WEATHER,))
    assert shaped(request) == [("reasoning", None, "Easy."), ("text", None, "Plain answer.")]


@pytest.mark.parametrize("choice", [ToolChoice("required"), ToolChoice("required", "get_weather")])
def test_a_forced_tool_gets_arguments_valid_against_its_schema(choice: ToolChoice) -> None:
    request = AnswerRequest(Conversation("hi"), (WEATHER, CLOCK), choice)
    steps = shaped(request)
    assert [(kind, tool) for kind, tool, _ in steps] == [
        ("reasoning", None),
        ("tool_call", "get_weather"),
    ]
    arguments = json.loads(steps[1][2])
    jsonschema.validate(arguments, FORECAST, format_checker=jsonschema.FormatChecker())
    assert shaped(request) == steps  # deterministic: the same request, the same arguments


def test_a_forced_tool_keeps_the_scripted_call() -> None:
    request = AnswerRequest(Conversation("clock?"), (WEATHER, CLOCK), ToolChoice("required"))
    assert shaped(request) == [("reasoning", None, "Time."), ("tool_call", "get_time", "{}")]
    named = AnswerRequest(
        Conversation("clock?"), (WEATHER, CLOCK), ToolChoice("required", "get_weather")
    )
    assert [tool for _, tool, _ in shaped(named)] == [None, "get_weather"]


def test_tool_choice_none_passes_over_rules_that_call_tools() -> None:
    request = AnswerRequest(Conversation("clock?"), (CLOCK,), ToolChoice("none"))
    assert shaped(request)[-1] == ("text", None, "Plain answer.")


def test_a_json_schema_format_gets_a_valid_object() -> None:
    request = AnswerRequest(Conversation("hi"), output=OutputFormat("json_schema", FORECAST))
    steps = shaped(request)
    assert [kind for kind, _, _ in steps] == ["reasoning", "object"]
    jsonschema.validate(json.loads(steps[1][2]), FORECAST)


def test_a_scripted_object_wins_and_drops_the_text() -> None:
    request = AnswerRequest(Conversation("recipe"), output=OutputFormat("json_schema", FORECAST))
    assert shaped(request) == [("object", None, '{"dish":"soup"}')]


def test_json_object_without_a_schema_wraps_the_text() -> None:
    request = AnswerRequest(Conversation("hi"), output=OutputFormat("json_object"))
    assert shaped(request)[-1] == ("object", None, '{"answer":"Plain answer."}')


def test_the_tool_result_fills_the_answer() -> None:
    conversation = Conversation("weather?", "get_weather", '{"sky": "clear"}')
    request = AnswerRequest(conversation, (WEATHER,))
    assert shaped(request) == [("text", None, 'It is {"sky": "clear"}.')]


def test_a_schema_that_cannot_be_generated_names_the_parameter() -> None:
    broken = ToolSpec(
        "broken",
        {"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}, "required": ["a"]},
        "tools[0].function",
    )
    request = AnswerRequest(Conversation("hi"), (broken,), ToolChoice("required"))
    with pytest.raises(CannotShape) as caught:
        shaped(request)
    assert caught.value.param == "tools[0].function.parameters"
    with pytest.raises(SchemaNotSupported):
        VALUES.generate(broken.schema)


def test_schema_values_do_not_depend_on_what_came_before() -> None:
    fresh = SchemaValues()
    first = fresh.generate(FORECAST)
    fresh.generate(CLOCK.schema)
    assert fresh.generate(FORECAST) == first == SchemaValues().generate(FORECAST)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "array", "items": {"type": "integer"}, "minItems": 10**6}, "minItems"),
        ({"type": "string", "minLength": 10**8}, "minLength"),
        ({"type": "object", "minProperties": 10**5}, "minProperties"),
        ({"type": "string", "pattern": "^a{1000000}$"}, "pattern"),
    ],
)
def test_schemas_asking_for_huge_values_are_refused_at_once(
    schema: dict[str, Any], problem: str
) -> None:
    """A client must not make the server build a value of millions of items (the event loop
    would stall for every other client)."""
    wrapped = {"type": "object", "properties": {"x": schema}, "required": ["x"]}
    with pytest.raises(SchemaNotSupported, match=problem):
        VALUES.generate(wrapped)


def test_large_maximums_give_small_valid_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "rows": {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 2,
                "maxItems": 10**6,
            },
            "text": {"type": "string", "maxLength": 10**7},
        },
        "required": ["rows", "text"],
    }
    value = VALUES.generate(schema)
    jsonschema.validate(value, schema)
    assert 2 <= len(value["rows"]) <= 3
    assert len(value["text"]) <= 40

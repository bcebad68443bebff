"""Answer rules with steps and conversation conditions: parsing, errors, matching, describing."""

from __future__ import annotations

import json
import re

import pytest

from quart_qa.settings.answer_parsing import rule_from_mapping, rules_from_list
from quart_qa.settings.answers import AnswerRule, Conversation, Step, choose_rule
from quart_qa.settings.errors import ConfigError

WEATHER = {
    "match": "weather",
    "tools": True,
    "steps": [
        {"reasoning": "I should call the tool."},
        {"tool": "get_weather", "arguments": {"city": "Paris", "days": 2}},
        {"text": "Checking.", "chunk_by": "char"},
    ],
}


def test_steps_become_typed_steps_in_order() -> None:
    rule = rule_from_mapping(WEATHER, "answers[0]")
    assert [step.kind for step in rule.steps] == ["reasoning", "tool_call", "text"]
    assert rule.steps[0].parts == ("I ", "should ", "call ", "the ", "tool.")
    assert rule.steps[1].tool == "get_weather"
    assert json.loads(rule.steps[1].text) == {"city": "Paris", "days": 2}
    assert rule.steps[2].parts == tuple("Checking.")
    assert rule.parts == tuple("Checking.")  # what the chat page shows: the answer text
    assert rule.part_count == 5 + 1 + 9
    assert rule.called_tools == frozenset({"get_weather"})


def test_arguments_and_objects_may_be_json_strings() -> None:
    rule = rule_from_mapping(
        {
            "steps": [
                {"tool": "lookup", "arguments": '{"q": "a b", "n": [1, 2]}'},
                {"tool": "ping"},
                {"object": '{"ok": true}'},
            ]
        },
        "answers[0]",
    )
    lookup, ping, answer = rule.steps
    assert lookup.text == '{"q":"a b","n":[1,2]}'
    assert lookup.parts == ('{"q":"a ', 'b","n":[1,2]}')  # split like text, joined exactly
    assert ping.text == "{}"
    assert answer.kind == "object"
    assert answer.text == '{"ok":true}'


@pytest.mark.parametrize(
    ("raw", "where", "problem"),
    [
        ({"steps": []}, "answers[0].steps", "non-empty array"),
        ({"steps": "x"}, "answers[0].steps", "non-empty array"),
        ({"steps": ["x"]}, "answers[0].steps[0]", "must be a table"),
        ({"steps": [{}]}, "answers[0].steps[0]", "exactly one of"),
        ({"steps": [{"text": "a", "tool": "b"}]}, "answers[0].steps[0]", "exactly one of"),
        ({"steps": [{"text": "a", "colour": 1}]}, "answers[0].steps[0].colour", "unknown key"),
        ({"steps": [{"text": ""}]}, "answers[0].steps[0].text", "non-empty string"),
        ({"steps": [{"text": "a", "arguments": {}}]}, "answers[0].steps[0].arguments", "`tool`"),
        ({"steps": [{"tool": "no spaces"}]}, "answers[0].steps[0].tool", "letters, digits"),
        ({"steps": [{"tool": "t", "arguments": "{oops"}]}, "answers[0].steps[0].arguments", "JSON"),
        ({"steps": [{"tool": "t", "arguments": "[1]"}]}, "answers[0].steps[0].arguments", "object"),
        ({"steps": [{"object": "3"}]}, "answers[0].steps[0].object", "object or array"),
        ({"steps": [{"text": "a", "chunk_by": "line"}]}, "answers[0].steps[0].chunk_by", "one of"),
        ({"steps": [{"reasoning": "hm"}]}, "answers[0].steps", "not only reasoning"),
        ({"text": "a", "steps": [{"text": "b"}]}, "answers[0]", "exactly one of"),
        ({"steps": [{"text": "a"}], "chunk_by": "char"}, "answers[0].chunk_by", "`text`"),
        ({"steps": [{"text": "a b"}], "fail_after": 3}, "answers[0].fail_after", "only 2 part"),
        ({"text": "a", "after_tool": "bad name"}, "answers[0].after_tool", "tool name"),
        ({"text": "a", "tools": "yes"}, "answers[0].tools", "true or false"),
        ({"text": "a", "turn": 0}, "answers[0].turn", ">= 1"),
        ({"text": "a", "turn": True}, "answers[0].turn", ">= 1"),
    ],
)
def test_bad_steps_and_conditions_name_the_key(raw: object, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        rule_from_mapping(raw, "answers[0]")
    message = str(caught.value)
    assert where in message
    assert problem in message
    assert "\n" not in message


def test_a_toml_date_in_arguments_is_refused() -> None:
    import datetime

    raw = {"steps": [{"tool": "t", "arguments": {"when": datetime.date(2026, 1, 1)}}]}
    with pytest.raises(ConfigError, match=re.escape("answers[0].steps[0].arguments")):
        rule_from_mapping(raw, "answers[0]")


def test_a_rule_with_only_conditions_is_not_the_default() -> None:
    with pytest.raises(ConfigError, match="no default rule"):
        rules_from_list([{"after_tool": "get_weather", "text": "done"}])
    with pytest.raises(ConfigError, match=re.escape("answers[0]")):
        rules_from_list([{"text": "default"}, {"turn": 2, "text": "late"}])


RULES = rules_from_list(
    [
        {"after_tool": "get_weather", "text": "after weather"},
        {"after_tool": "*", "text": "after any tool"},
        WEATHER,
        {"match": "weather", "text": "weather without tools"},
        {"match": "clock", "steps": [{"tool": "get_time"}, {"text": "It is noon."}]},
        {"turn": 2, "text": "second turn"},
        {"tools": False, "match": "tools?", "text": "no tools offered"},
        {"text": "default"},
    ]
)


@pytest.mark.parametrize(
    ("conversation", "answer"),
    [
        (Conversation("weather?", tools=("get_weather",)), "Checking."),
        (Conversation("weather?", tools=("other",)), "weather without tools"),
        (Conversation("weather?", tools=()), "weather without tools"),
        (Conversation("weather?"), "weather without tools"),  # no tools: `tools = true` fails
        (Conversation("clock?"), "It is noon."),  # the chat page: no rule passed over for calls
        (Conversation("clock?", tools=()), "default"),  # an API request without the tool
        (Conversation("weather?", "get_weather", "sunny", tools=("get_weather",)), "after weather"),
        (Conversation("weather?", "lookup", "3 hits", tools=("lookup",)), "after any tool"),
        (Conversation("weather?", "", "?", tools=()), "after any tool"),
        (Conversation("hello", turn=2), "second turn"),
        (Conversation("tools?", tools=()), "no tools offered"),
        (Conversation("tools?", tools=("x",)), "default"),
        ("How is the WEATHER", "weather without tools"),  # a plain question (the chat page)
    ],
)
def test_choose_rule_matches_the_conversation(
    conversation: Conversation | str, answer: str
) -> None:
    assert "".join(choose_rule(RULES, conversation).parts) == answer


def test_describe_shows_conditions_and_steps() -> None:
    assert rule_from_mapping(WEATHER, "answers[0]").describe() == (
        "match /weather/ and tools offered: 3 step(s)\n"
        "    1. reasoning: 5 part(s)\n"
        '    2. tool call get_weather {"city":"Paris","days":2}\n'
        "    3. text: 9 part(s)"
    )
    after = rule_from_mapping(
        {"after_tool": "*", "turn": 3, "tools": False, "text": "a b", "delay": 0.5}, "answers[0]"
    )
    assert after.describe() == (
        "after any tool returns and no tools offered and turn 3: 2 part(s) (delay 0.5s)"
    )


def test_text_fail_after_counts_only_answer_text() -> None:
    rule = AnswerRule(
        (Step("reasoning", ("a ", "b")), Step("text", ("c ", "d"))), fail_after=3, error="x"
    )
    assert rule.text_fail_after == 1
    assert AnswerRule((Step("text", ("a",)),)).text_fail_after is None


def test_a_tool_step_may_script_its_output() -> None:
    rule = rule_from_mapping(
        {"steps": [{"tool": "get_weather", "output": {"sky": "sunny"}}]}, "answers[0]"
    )
    assert rule.steps[0].output == '{"sky":"sunny"}'
    assert rule.steps[0].describe() == 'tool call get_weather {} -> {"sky":"sunny"}'
    with pytest.raises(ConfigError, match=r"answers\[0\]\.steps\[0\]\.output: only applies"):
        rule_from_mapping({"steps": [{"text": "hi", "output": 1}]}, "answers[0]")

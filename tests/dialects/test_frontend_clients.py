"""The AI SDK's and AG-UI's own JavaScript clients, from npm, against a real server.

A script of tests/node (Node.js) runs every scenario of a client once, against
``quart-qa serve`` with frontends.toml; each test compares what the client made of one
stream with that script's rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from quart_qa.settings.answers import AnswerRule, Conversation, choose_rule
from quart_qa.settings.config import load_settings
from tests.support.apps import ROOT
from tests.support.live_server import ServerProcess, live_server
from tests.support.node import require_node, run_node

pytestmark = pytest.mark.timeout(60)

CONFIG = ROOT / "tests" / "support" / "frontends.toml"
RULES = load_settings(CONFIG).answers


def rule_for(question: str) -> AnswerRule:
    return choose_rule(RULES, Conversation(question=question))


def step_text(rule: AnswerRule, kind: str) -> str:
    return next(step.text for step in rule.steps if step.kind == kind)


def tool_step(rule: AnswerRule) -> Any:
    return next(step for step in rule.steps if step.kind == "tool_call")


WEATHER, WHERE, FAIL = "What is the weather in Paris?", "Where am I?", "Please fail"
AI_SDK_SCENARIOS: list[dict[str, str]] = [
    {"mode": "read", "question": WEATHER},
    {"mode": "chat", "question": WHERE},
    {"mode": "read", "question": FAIL},
]
AGUI_SCENARIOS: list[dict[str, Any]] = [
    {"question": WEATHER},
    {"question": WHERE, "tools": ["get_location"]},
    {"question": FAIL},
]


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    require_node()
    with live_server(CONFIG) as process:
        yield process


@pytest.fixture(scope="module")
def ai_sdk(server: ServerProcess) -> dict[str, Any]:
    """Each AI SDK scenario's result, by question (one Node process for all of them)."""
    results = run_node("ai_sdk_client.mjs", f"{server.url}/api/chat", json.dumps(AI_SDK_SCENARIOS))
    return {
        scenario["question"]: result
        for scenario, result in zip(AI_SDK_SCENARIOS, results, strict=True)
    }


@pytest.fixture(scope="module")
def agui(server: ServerProcess) -> dict[str, Any]:
    """Each AG-UI scenario's result, by question (one Node process for all of them)."""
    results = run_node("agui_client.mjs", f"{server.url}/agui", json.dumps(AGUI_SCENARIOS))
    return {
        scenario["question"]: result
        for scenario, result in zip(AGUI_SCENARIOS, results, strict=True)
    }


def test_ai_sdk_reader_turns_the_stream_into_the_scripted_message(ai_sdk: dict[str, Any]) -> None:
    rule, tool = rule_for(WEATHER), tool_step(rule_for(WEATHER))
    result = ai_sdk[WEATHER]

    assert result["errors"] == []
    parts = result["message"]["parts"]
    assert [part["type"] for part in parts] == [
        "step-start",
        "reasoning",
        f"tool-{tool.tool}",
        "step-start",  # the server ran the tool: the answer is the model's next step
        "text",
    ]
    assert parts[1]["text"] == step_text(rule, "reasoning")
    assert parts[2]["state"] == "output-available"
    assert parts[2]["input"] == json.loads(tool.text)
    assert parts[2]["output"] == json.loads(tool.output)
    assert parts[4] == {"type": "text", "text": step_text(rule, "text"), "state": "done"}
    assert result["chunks"][-2:] == ["finish-step", "finish"]


def test_ai_sdk_chat_runs_a_client_tool_then_the_next_turn(ai_sdk: dict[str, Any]) -> None:
    question = WHERE
    tool = tool_step(rule_for(question))
    result = ai_sdk[question]

    assert result["errors"] == []
    assert result["requests"] == 2, "the tool's output goes back in a second request"
    assert result["toolCalls"] == [{"name": tool.tool, "input": json.loads(tool.text)}]
    user, assistant = result["messages"]
    assert user["parts"] == [{"type": "text", "text": question}]
    texts = [part["text"] for part in assistant["parts"] if part["type"] == "text"]
    called = next(part for part in assistant["parts"] if part["type"] == f"tool-{tool.tool}")
    output = json.dumps(called["output"], separators=(",", ":"))
    after = choose_rule(RULES, Conversation(question=question, tool_result=tool.tool))
    assert texts == [
        step_text(rule_for(question), "text"),
        step_text(after, "text").replace("{tool_result}", output),
    ]


def test_ai_sdk_reader_gets_an_error_part_for_a_scripted_failure(ai_sdk: dict[str, Any]) -> None:
    question = FAIL
    result = ai_sdk[question]

    assert result["errors"] == [rule_for(question).error]
    assert result["chunks"][-1] == "error"
    text = next(part for part in result["message"]["parts"] if part["type"] == "text")
    assert step_text(rule_for(question), "text").startswith(text["text"])


def test_agui_http_agent_runs_reasoning_a_tool_result_and_text(agui: dict[str, Any]) -> None:
    rule, tool = rule_for(WEATHER), tool_step(rule_for(WEATHER))
    result = agui[WEATHER]

    assert result["verify"]["verifier"] == "accepted"
    (run,) = result["run"]["runs"]
    assert run["runError"] is None
    assert run["failure"] is None
    _user, reasoning, call, output, answer = result["run"]["messages"]
    assert reasoning["role"] == "reasoning"
    assert reasoning["content"] == step_text(rule, "reasoning")
    (tool_call,) = call["toolCalls"]
    assert tool_call["function"]["name"] == tool.tool
    assert json.loads(tool_call["function"]["arguments"]) == json.loads(tool.text)
    assert output["role"] == "tool"
    assert output["toolCallId"] == tool_call["id"]
    assert json.loads(output["content"]) == json.loads(tool.output)
    assert answer["role"] == "assistant"
    assert answer["content"] == step_text(rule, "text")
    types = [event["type"] for event in run["events"]]
    assert types[0] == "RUN_STARTED"
    assert types[-1] == "RUN_FINISHED"


def test_agui_frontend_tool_call_and_the_run_after_it(agui: dict[str, Any]) -> None:
    question = WHERE
    tool = tool_step(rule_for(question))
    result = agui[question]

    assert result["verify"]["verifier"] == "accepted"
    first, second = result["run"]["runs"]
    assert [event["type"] for event in first["events"]][-1] == "RUN_FINISHED"
    assert second["runError"] is None
    messages = result["run"]["messages"]
    call = messages[1]["toolCalls"][0]
    assert call["function"]["name"] == tool.tool
    assert messages[2]["role"] == "tool"
    after = choose_rule(RULES, Conversation(question=question, tool_result=tool.tool))
    expected = step_text(after, "text").replace("{tool_result}", messages[2]["content"])
    assert messages[-1] == {**messages[-1], "role": "assistant", "content": expected}


def test_agui_http_agent_sees_the_scripted_failure_as_run_error(agui: dict[str, Any]) -> None:
    question = FAIL
    result = agui[question]

    assert result["verify"]["verifier"] == "accepted"
    (run,) = result["run"]["runs"]
    assert run["runError"] == rule_for(question).error
    assert [event["type"] for event in run["events"]][-1] == "RUN_ERROR"

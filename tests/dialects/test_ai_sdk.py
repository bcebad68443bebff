"""The Vercel AI SDK in Node against a real server: agent loops with an executing tool over the
Responses API (``openai(model)``), Chat Completions (``openai.chat(model)``) and Anthropic
Messages, and ``generateObject`` with a zod schema. The scenarios run in one Node process
(tests/node/ai_sdk_agents.mjs, packages pinned in tests/node/package-lock.json)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from tests.support.agents import (
    AFTER_WEATHER_THINKING,
    RECIPE,
    RECIPE_SCHEMA,
    WEATHER_ARGUMENTS,
    WEATHER_THINKING,
    agent_settings,
)
from tests.support.llm_server import ThreadedServer
from tests.support.node import require_node, run_node

NODE_TIMEOUT = 60.0
# What the tool returns (tests/node/ai_sdk_agents.mjs); the SDK sends it back as JSON.
TOOL_OUTPUT = {"city": "Paris", "temperature": 21, "sky": "sunny"}


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    require_node()
    with ThreadedServer(agent_settings({"quart-qa-fast": {}})) as server:
        found: dict[str, dict[str, Any]] = run_node(
            "ai_sdk_agents.mjs", server.url, timeout=NODE_TIMEOUT
        )
    return found


@pytest.mark.parametrize("name", ["responses-agent", "chat-agent", "anthropic-agent"])
def test_stream_text_runs_the_tool_and_ends_with_the_scripted_text(
    results: dict[str, dict[str, Any]], name: str
) -> None:
    result = results[name]
    assert "error" not in result, result.get("error")
    assert result["executed"] == [WEATHER_ARGUMENTS]  # the tool's execute ran once, on the call
    assert result["finishReasons"] == ["tool-calls", "stop"]
    assert (
        result["text"] == f"Here is the weather: {json.dumps(TOOL_OUTPUT, separators=(',', ':'))}"
    )
    assert {"tool-input-start", "tool-input-delta", "tool-call", "tool-result"} <= set(
        result["partTypes"]
    )


@pytest.mark.parametrize("name", ["responses-agent", "anthropic-agent"])
def test_reasoning_reaches_the_stream(results: dict[str, dict[str, Any]], name: str) -> None:
    assert results[name]["reasoning"] == WEATHER_THINKING + AFTER_WEATHER_THINKING


@pytest.mark.parametrize("name", ["responses-object", "chat-object"])
def test_generate_object_gets_the_scripted_object(
    results: dict[str, dict[str, Any]], name: str
) -> None:
    assert "error" not in results[name], results[name].get("error")
    assert results[name]["object"] == RECIPE


def test_generate_object_over_anthropic_gets_a_schema_valid_object(
    results: dict[str, dict[str, Any]],
) -> None:
    """The Anthropic provider asks with a forced ``json`` tool, which no rule scripts."""
    result = results["anthropic-object"]
    assert "error" not in result, result.get("error")
    jsonschema.validate(result["object"], RECIPE_SCHEMA)

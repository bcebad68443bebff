"""An agentic answer script for the dialect tests: a weather agent, a recipe object, thinking."""

from __future__ import annotations

from typing import Any

from quart_qa.settings.config import Settings, settings_from_mapping

WEATHER_ARGUMENTS = {"city": "Paris", "unit": "celsius"}
WEATHER_THINKING = "The user asks about the weather, so I call get_weather."
AFTER_WEATHER_THINKING = "The tool answered; now I can reply."
AFTER_WEATHER = "Here is the weather: {tool_result}"
RECIPE: dict[str, Any] = {
    "name": "Pancakes",
    "servings": 4,
    "ingredients": [{"item": "flour", "amount": "200 g"}, {"item": "milk", "amount": "300 ml"}],
}
PLAIN = "Ask me about the weather."
TOOL_FAILURE = "the tool call broke"
WEATHER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
RECIPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "servings": {"type": "integer"},
        "ingredients": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"item": {"type": "string"}, "amount": {"type": "string"}},
                "required": ["item", "amount"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["name", "servings", "ingredients"],
    "additionalProperties": False,
}


def agent_rules() -> list[dict[str, Any]]:
    """After get_weather returns, answer with its result; a weather question with tools
    offered calls it; "two cities" calls it twice; a recipe is an object; "broken tool" fails
    inside its call; anything else is :data:`PLAIN`."""
    return [
        {
            "after_tool": "get_weather",
            "steps": [{"reasoning": AFTER_WEATHER_THINKING}, {"text": AFTER_WEATHER}],
        },
        {
            "match": "weather",
            "tools": True,
            "steps": [
                {"reasoning": WEATHER_THINKING},
                {"tool": "get_weather", "arguments": WEATHER_ARGUMENTS},
            ],
        },
        {
            "match": "two cities",
            "steps": [
                {"tool": "get_weather", "arguments": WEATHER_ARGUMENTS},
                {"tool": "get_weather", "arguments": '{"city": "Oslo", "unit": "celsius"}'},
            ],
        },
        {"match": "recipe", "steps": [{"object": RECIPE}]},
        {
            "match": "broken tool",
            "steps": [{"tool": "get_weather", "arguments": WEATHER_ARGUMENTS}],
            "fail_after": 1,
            "error": TOOL_FAILURE,
        },
        {"text": PLAIN},
    ]


def agent_settings(models: dict[str, dict[str, Any]] | None = None, **stream: Any) -> Settings:
    """Settings with :func:`agent_rules`, unpaced unless asked."""
    config: dict[str, Any] = {
        "stream": {"chunk_delay": 0, "first_chunk_delay": 0, "heartbeat": 0, **stream},
        "answers": agent_rules(),
    }
    if models is not None:
        config["models"] = models
    return settings_from_mapping(config, source="<agent tests>")

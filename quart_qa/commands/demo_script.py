"""Demo scripts: one TOML file holding a conversation and the model's side of it.

``[demo]`` and ``[[conversation]]`` are the conversation; every other table (``[stream]``,
``[[answers]]``, ``[models]``, ...) is a server config, read by the server's own loader
(which passes over the conversation), so ``quart-qa serve --config`` serves the same file::

    [demo]
    title = "A short tour"
    typing = 0.04            # seconds per typed character
    pause = 1.0              # seconds after each answer

    [[conversation]]
    note = "First, a plain question."
    question = "What is SSE?"

    [[conversation]]
    question = "What's the weather in Paris?"
    tool_results = { get_weather = "Sunny, 21 °C" }   # sent back when the model calls it

    [[answers]]
    match = "sse"
    text = "Server-Sent Events ..."
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..settings.config import Settings, read_toml, section_from_mapping, settings_from_mapping
from ..settings.errors import ConfigError
from ..settings.shipped import SHIPPED_CONFIG_DIR
from .conversations import Api

SHIPPED_DEMO_DIR = SHIPPED_CONFIG_DIR / "demos"


def _minimum(value: float) -> dict[str, float]:
    return {"min": value}


@dataclass(frozen=True)
class DemoSettings:
    """``[demo]``: how the conversation is played."""

    title: str = ""
    api: Api = "qa"
    user: str = "demo"
    typing: float = field(default=0.04, metadata=_minimum(0))
    pause: float = field(default=1.0, metadata=_minimum(0))
    tools: tuple[str, ...] = ()  # offered through the LLM APIs; none: every tool the rules call


@dataclass(frozen=True)
class Turn:
    """One ``[[conversation]]`` entry: a note to show, a question to type, pauses."""

    question: str = ""
    note: str = ""
    typing: float | None = field(default=None, metadata=_minimum(0))
    pause: float | None = field(default=None, metadata=_minimum(0))
    tool_results: tuple[tuple[str, str], ...] = ()  # (tool, its result), sent back when called

    def result_for(self, tool: str) -> str | None:
        """What the demo answers when the model calls ``tool``, if the script says."""
        return next((result for name, result in self.tool_results if name == tool), None)


@dataclass(frozen=True)
class DemoScript:
    """A whole demo: how to play it, what to ask, and the server that answers."""

    demo: DemoSettings
    turns: tuple[Turn, ...]
    settings: Settings

    def typing(self, turn: Turn) -> float:
        """Seconds per typed character of ``turn``'s question."""
        return self.demo.typing if turn.typing is None else turn.typing

    def pause(self, turn: Turn) -> float:
        """Seconds to wait after ``turn``'s answer."""
        return self.demo.pause if turn.pause is None else turn.pause


def _tool_results(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must be a table of tool name = result text")
    for name, result in raw.items():
        if not isinstance(result, str):
            raise ConfigError(f"{where}.{name}", f"must be a string, got {result!r}")
    return tuple(raw.items())


def _turns(raw: object) -> tuple[Turn, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("conversation", "must be a non-empty array of tables ([[conversation]])")
    turns = []
    for index, item in enumerate(raw):
        where = f"conversation[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(where, "must be a table")
        fields = {key: value for key, value in item.items() if key != "tool_results"}
        turn = section_from_mapping(Turn, fields, where)
        if not turn.question.strip():
            raise ConfigError(f"{where}.question", "must be a non-empty string")
        results = _tool_results(item.get("tool_results", {}), f"{where}.tool_results")
        turns.append(replace(turn, tool_results=results))
    return tuple(turns)


def demo_from_mapping(data: Mapping[str, object], *, source: str = "<mapping>") -> DemoScript:
    """Split a demo file into the conversation and the server config, validating both."""
    try:
        demo = section_from_mapping(DemoSettings, data.get("demo", {}), "demo")
        turns = _turns(data.get("conversation"))
    except ConfigError as error:
        raise error.with_source(source) from None
    return DemoScript(demo, turns, settings_from_mapping(data, source=source))


def demo_file(path_or_name: str) -> Path:
    """``path_or_name`` when it is a file, else the shipped demo of that name (``seed-zh``)."""
    path = Path(path_or_name)
    shipped = SHIPPED_DEMO_DIR / f"{path_or_name}.toml"
    if not path.is_file() and path.name == path_or_name and shipped.is_file():
        return shipped
    return path


def load_demo(path_or_name: str | os.PathLike[str]) -> DemoScript:
    """Read and validate a demo script: a file, or a shipped demo's name."""
    path = demo_file(str(path_or_name))
    return demo_from_mapping(read_toml(path), source=str(path))

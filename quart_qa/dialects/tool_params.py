"""``tools`` and ``tool_choice``: the tools a request offers with their schemas, the one it
forces, and the tool a result answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .api_errors import invalid_type, invalid_value
from .params import get_array, get_name, get_object
from .shaping import ToolChoice, ToolSpec


def tool_objects(body: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``tools`` as ``(where, tool)`` pairs, each checked to be an object."""
    tools = []
    for index, tool in enumerate(get_array(body, "tools") or []):
        where = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise invalid_type(where, "an object", tool)
        tools.append((where, tool))
    return tools


def tool_spec(name: str, schema: object, param: str) -> ToolSpec:
    """A tool and its arguments' JSON schema (``schema`` at ``param``; absent is any object)."""
    if schema is None:
        return ToolSpec(name, {}, param)
    if not isinstance(schema, dict):
        raise invalid_type(param, "an object (a JSON schema)", schema)
    return ToolSpec(name, schema, param)


def forced_tool(tools: Sequence[ToolSpec], name: str, param: str) -> ToolChoice:
    """``tool_choice`` naming one tool, which must be among ``tools``."""
    if all(tool.name != name for tool in tools):
        offered = ", ".join(tool.name for tool in tools) or "none"
        raise invalid_value(param, f"no tool named {name!r} is offered (tools: {offered}).")
    return ToolChoice("required", name)


def tool_name_of_call(calls: dict[str, str], call_id: object) -> str:
    """The tool a result answers, from the calls seen so far (``""`` when unknown)."""
    return calls.get(call_id, "") if isinstance(call_id, str) else ""


def openai_tool_choice(
    body: Mapping[str, Any], tools: Sequence[ToolSpec], name_at: Sequence[str]
) -> ToolChoice:
    """``tool_choice`` as both OpenAI APIs take it: ``none``, ``auto``, ``required`` or a
    ``{"type": "function", ...}`` object with the name at the keys ``name_at``."""
    choice = body.get("tool_choice")
    if choice is None or choice == "auto":
        return ToolChoice()
    if choice in ("none", "required"):
        return ToolChoice(choice)
    if not isinstance(choice, dict):
        raise invalid_value("tool_choice", "must be 'none', 'auto', 'required' or an object.")
    if choice.get("type") != "function":
        return ToolChoice()  # allowed_tools, custom or hosted tools: the script decides
    where, holder = "tool_choice", choice
    for key in name_at[:-1]:
        where = f"{where}.{key}"
        holder = get_object(holder, key, where) or {}
    name = get_name(holder, name_at[-1], f"{where}.{name_at[-1]}")
    return forced_tool(tools, name, "tool_choice")

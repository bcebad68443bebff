"""Reading a ``POST /v1/responses`` body: input items, tools, formats and earlier responses.

Errors name the parameter at fault, in OpenAI's shape (see :mod:`.api_errors`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..settings.answers import Conversation
from ..streaming.completions import count_prompt_tokens
from .api_errors import LlmApiError, invalid_type, invalid_value, missing
from .message_params import check_question_length, check_role
from .params import get_bool, get_int, get_model, get_name, get_object, get_string
from .response_store import Item
from .shaping import AnswerRequest, OutputFormat, ToolChoice, ToolSpec
from .state import LlmState
from .tool_params import openai_tool_choice, tool_name_of_call, tool_objects, tool_spec

ROLES = ("user", "assistant", "system", "developer")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _part_text(part: object) -> str:
    text = part.get("text") if isinstance(part, dict) else None
    return text if isinstance(text, str) else ""


def item_text(content: object, param: str) -> str:
    """The text of a message's ``content`` or a tool output: a string, or text parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_type(param, "a string or an array of content parts", content)
    return "\n".join(text for text in map(_part_text, content) if text)


def _check_item(item: object, where: str) -> Item:
    if not isinstance(item, dict):
        raise invalid_type(where, "an object", item)
    kind = item.get("type", "message")
    if kind == "message":
        check_role(item, where, ROLES)
        item_text(item.get("content"), f"{where}.content")
    elif kind in ("function_call", "function_call_output"):
        if not isinstance(item.get("call_id"), str):
            raise missing(f"{where}.call_id")
        if kind == "function_call_output":
            item_text(item.get("output"), f"{where}.output")
    return item


def parse_input(body: dict[str, Any]) -> list[Item]:
    """``input``: a string (one user message) or an array of items."""
    value = body.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid_type("input", "a string or an array of items", value)
    return [_check_item(item, f"input[{index}]") for index, item in enumerate(value)]


def parse_tools(body: dict[str, Any]) -> tuple[ToolSpec, ...]:
    """``tools``: function tools; hosted tools (web search, ...) are never called."""
    tools = []
    for where, tool in tool_objects(body):
        if tool.get("type") != "function":
            continue
        name = get_name(tool, "name", f"{where}.name")
        tools.append(tool_spec(name, tool.get("parameters"), where))
    return tuple(tools)


def parse_tool_choice(body: dict[str, Any], tools: Sequence[ToolSpec]) -> ToolChoice:
    """``tool_choice``: ``none``, ``auto``, ``required`` or ``{"type": "function", "name"}``."""
    return openai_tool_choice(body, tools, ("name",))


def parse_text_format(body: dict[str, Any]) -> OutputFormat:
    """``text.format``: ``text``, ``json_object`` or ``json_schema`` with its schema."""
    text = get_object(body, "text") or {}
    form = get_object(text, "format", "text.format")
    if form is None or form.get("type") == "text":
        return OutputFormat()
    if form.get("type") == "json_object":
        return OutputFormat("json_object", param="text.format")
    if form.get("type") == "json_schema":
        schema = get_object(form, "schema", "text.format.schema") or {}
        return OutputFormat("json_schema", schema, "text.format.schema")
    raise invalid_value("text.format.type", "must be 'text', 'json_object' or 'json_schema'.")


def items_conversation(items: Sequence[Item]) -> Conversation:
    """What the rules match on: the last question, a trailing tool result, the user's turn."""
    calls = {
        str(item.get("call_id")): str(item.get("name", ""))
        for item in items
        if item.get("type") == "function_call"
    }
    questions = [
        item
        for item in items
        if item.get("type", "message") == "message" and item.get("role") == "user"
    ]
    question = item_text(questions[-1].get("content"), "input") if questions else ""
    turn = max(1, len(questions))
    last = items[-1] if items else {}
    if last.get("type") != "function_call_output":
        return Conversation(question, turn=turn)
    output = item_text(last.get("output"), "input")
    return Conversation(question, tool_result_name(calls, last), output, turn=turn)


def tool_result_name(calls: dict[str, str], result: Item) -> str:
    """The tool a ``function_call_output`` answers (``""`` when its call is unknown)."""
    return tool_name_of_call(calls, result.get("call_id"))


def _items_text(items: Sequence[Item]) -> list[str]:
    texts = []
    for item in items:
        texts.append(item_text(item.get("content"), "input") if "content" in item else "")
        texts.append(item_text(item.get("output"), "input") if "output" in item else "")
        if isinstance(item.get("arguments"), str):
            texts.append(item["arguments"])
    return texts


@dataclass(frozen=True)
class ResponsesRequest:
    """The parts of a Responses request that change the answer, and what the response echoes."""

    model: str
    answer: AnswerRequest
    items: tuple[Item, ...]
    input_tokens: int
    stream: bool
    store: bool
    max_output_tokens: int | None
    echo: dict[str, Any] = field(default_factory=dict)


def _resolve(state: LlmState, items: list[Item]) -> list[Item]:
    """``item_reference`` items replaced by the remembered items they name."""
    resolved = []
    for item in items:
        if item.get("type") == "item_reference":
            found = state.responses.item(str(item.get("id")))
            if found is not None:
                resolved.append(found)
        else:
            resolved.append(item)
    return resolved


def parse_responses_request(state: LlmState, body: dict[str, Any]) -> ResponsesRequest:
    """Check a request body; every other field is accepted and ignored."""
    model = get_model(body)
    instructions = get_string(body, "instructions")
    items = parse_input(body)
    previous = get_string(body, "previous_response_id")
    if previous is not None:
        earlier = state.responses.items(previous)
        if earlier is None:
            raise LlmApiError(
                404,
                "previous_response_not_found",
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
            )
        items = [*earlier, *items]
    items = _resolve(state, items)
    if not items:
        raise missing("input")
    conversation = items_conversation(items)
    check_question_length(conversation.question, state.settings.limits.max_question_chars)
    tools = parse_tools(body)
    answer = AnswerRequest(
        conversation, tools, parse_tool_choice(body, tools), parse_text_format(body)
    )
    max_output_tokens = get_int(body, "max_output_tokens", minimum=1)
    store = body.get("store") is not False
    text = get_object(body, "text") or {}
    reasoning = get_object(body, "reasoning") or {}
    echo = {
        "instructions": instructions,
        "max_output_tokens": max_output_tokens,
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice") or "auto",
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": "medium"},
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "previous_response_id": previous,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "store": store,
        "metadata": body.get("metadata") or {},
        "user": body.get("user"),
    }
    return ResponsesRequest(
        model=model,
        answer=answer,
        items=tuple(items),
        input_tokens=count_prompt_tokens([instructions or "", *_items_text(items)]),
        stream=get_bool(body, "stream"),
        store=store,
        max_output_tokens=max_output_tokens,
        echo=echo,
    )

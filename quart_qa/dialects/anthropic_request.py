"""Reading a ``POST /v1/messages`` body: messages and their blocks, tools, output format.

Errors name the parameter at fault, in Anthropic's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..settings.answers import Conversation
from ..streaming.completions import count_prompt_tokens
from .api_errors import invalid_value, missing
from .message_params import check_question_length, content_text, get_messages
from .params import get_bool, get_int, get_model, get_name, get_object, get_strings
from .shaping import AnswerRequest, OutputFormat, ToolChoice, ToolSpec
from .tool_params import forced_tool, tool_name_of_call, tool_objects, tool_spec

ROLES = ("user", "assistant")


@dataclass(frozen=True)
class MessagesRequest:
    """The parts of a Messages request that change the answer."""

    model: str
    answer: AnswerRequest
    input_tokens: int
    max_tokens: int
    stream: bool
    stop_sequences: tuple[str, ...]


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [block for block in content if isinstance(block, dict)]


def _is_tool_results(message: dict[str, Any]) -> bool:
    """A user message made only of ``tool_result`` blocks (not a question)."""
    blocks = _blocks(message)
    return bool(blocks) and all(block.get("type") == "tool_result" for block in blocks)


def messages_conversation(messages: list[dict[str, Any]]) -> Conversation:
    """What the rules match on: the last question, a trailing tool result, the user's turn."""
    calls: dict[str, str] = {}
    for message in messages:
        for block in _blocks(message):
            if block.get("type") == "tool_use":
                calls[str(block.get("id"))] = str(block.get("name", ""))
    questions = [
        (index, message)
        for index, message in enumerate(messages)
        if message.get("role") == "user" and not _is_tool_results(message)
    ]
    question = ""
    if questions:
        index, message = questions[-1]
        question = content_text(message.get("content"), f"messages[{index}].content")
    last = len(messages) - 1
    results = [block for block in _blocks(messages[last]) if block.get("type") == "tool_result"]
    if messages[last].get("role") != "user" or not results:
        return Conversation(question, turn=max(1, len(questions)))
    result = results[-1]
    output = content_text(result.get("content"), f"messages[{last}].content")
    name = tool_name_of_call(calls, result.get("tool_use_id"))
    return Conversation(question, name, output, turn=max(1, len(questions)))


def parse_tools(body: dict[str, Any]) -> tuple[ToolSpec, ...]:
    """``tools``: client tools (``input_schema``); server tools are never called."""
    tools = []
    for where, tool in tool_objects(body):
        if tool.get("type") not in (None, "custom") and "input_schema" not in tool:
            continue
        name = get_name(tool, "name", f"{where}.name")
        tools.append(tool_spec(name, tool.get("input_schema"), where))
    return tuple(tools)


def parse_tool_choice(body: dict[str, Any], tools: Sequence[ToolSpec]) -> ToolChoice:
    """``tool_choice``: ``{"type": "auto" | "any" | "tool" | "none"}``."""
    choice = get_object(body, "tool_choice")
    if choice is None:
        return ToolChoice()
    kind = choice.get("type")
    if kind == "any":
        return ToolChoice("required")
    if kind == "none":
        return ToolChoice("none")
    if kind == "tool":
        return forced_tool(tools, get_name(choice, "name", "tool_choice.name"), "tool_choice")
    if kind == "auto":
        return ToolChoice()
    raise invalid_value("tool_choice.type", "must be 'auto', 'any', 'tool' or 'none'.")


def parse_output_format(body: dict[str, Any]) -> OutputFormat:
    """Structured outputs: ``output_config.format`` (or the older ``output_format``)."""
    config = get_object(body, "output_config") or {}
    form = get_object(config, "format", "output_config.format")
    param = "output_config.format"
    if form is None:
        form, param = get_object(body, "output_format"), "output_format"
    if form is None or form.get("type") != "json_schema":
        return OutputFormat()
    schema = get_object(form, "schema", f"{param}.schema") or {}
    return OutputFormat("json_schema", schema, f"{param}.schema")


def parse_messages_request(body: dict[str, Any], max_question_chars: int) -> MessagesRequest:
    """Check a request body; every other field is accepted and ignored."""
    model = get_model(body)
    max_tokens = get_int(body, "max_tokens", minimum=1)
    if max_tokens is None:
        raise missing("max_tokens")
    messages = get_messages(body, ROLES)
    texts = [content_text(body.get("system"), "system")]
    texts.extend(
        content_text(message.get("content"), f"messages[{index}].content")
        for index, message in enumerate(messages)
    )
    conversation = messages_conversation(messages)
    texts.append(conversation.tool_output)
    check_question_length(conversation.question, max_question_chars)
    tools = parse_tools(body)
    answer = AnswerRequest(
        conversation, tools, parse_tool_choice(body, tools), parse_output_format(body)
    )
    return MessagesRequest(
        model=model,
        answer=answer,
        input_tokens=count_prompt_tokens(texts),
        max_tokens=max_tokens,
        stream=get_bool(body, "stream"),
        stop_sequences=get_strings(body.get("stop_sequences"), "stop_sequences"),
    )

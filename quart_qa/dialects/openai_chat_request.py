"""Reading a ``POST /v1/chat/completions`` body: messages, tools, formats, stream options.

Errors name the parameter at fault, in OpenAI's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..settings.answers import Conversation
from ..streaming.completions import count_prompt_tokens
from .api_errors import LlmApiError, invalid_type, invalid_value
from .message_params import check_question_length, content_text, get_messages, last_user_text
from .params import get_bool, get_int, get_model, get_name, get_object, get_strings
from .shaping import AnswerRequest, OutputFormat, ToolChoice, ToolSpec
from .tool_params import openai_tool_choice, tool_name_of_call, tool_objects, tool_spec

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_STOP_SEQUENCES = 4


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a chat completion request that change the answer."""

    model: str
    answer: AnswerRequest
    prompt_tokens: int
    stream: bool
    include_usage: bool
    max_tokens: int | None
    stop: tuple[str, ...]


def parse_tools(body: dict[str, Any]) -> tuple[ToolSpec, ...]:
    """``tools``: function tools; other kinds of tool are accepted and never called."""
    tools = []
    for where, tool in tool_objects(body):
        if tool.get("type", "function") != "function":
            continue
        function = get_object(tool, "function", f"{where}.function")
        if function is None:
            raise LlmApiError(
                400,
                "missing_required_parameter",
                f"Missing required parameter: '{where}.function'.",
                param=f"{where}.function",
            )
        name = get_name(function, "name", f"{where}.function.name")
        tools.append(tool_spec(name, function.get("parameters"), f"{where}.function"))
    return tuple(tools)


def parse_tool_choice(body: dict[str, Any], tools: Sequence[ToolSpec]) -> ToolChoice:
    """``tool_choice``: ``none``, ``auto``, ``required`` or ``{"type": "function", ...}``."""
    return openai_tool_choice(body, tools, ("function", "name"))


def parse_response_format(body: dict[str, Any]) -> OutputFormat:
    """``response_format``: ``text``, ``json_object`` or ``json_schema`` with its schema."""
    form = get_object(body, "response_format")
    if form is None:
        return OutputFormat()
    kind = form.get("type")
    if kind == "json_object":
        return OutputFormat("json_object")
    if kind == "json_schema":
        spec = get_object(form, "json_schema", "response_format.json_schema") or {}
        schema = get_object(spec, "schema", "response_format.json_schema.schema") or {}
        return OutputFormat("json_schema", schema, "response_format.json_schema.schema")
    if kind == "text":
        return OutputFormat()
    raise invalid_value("response_format.type", "must be 'text', 'json_object' or 'json_schema'.")


def chat_conversation(messages: Sequence[dict[str, Any]], question: str) -> Conversation:
    """What the rules match on: the question, a trailing tool result, the user's turn."""
    calls: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                calls[str(call.get("id"))] = str(call["function"].get("name", ""))
    last = messages[-1]
    tool_result = None
    output = ""
    if last.get("role") in ("tool", "function"):
        output = content_text(last.get("content"), f"messages[{len(messages) - 1}].content")
        if last.get("role") == "function":
            tool_result = str(last.get("name") or "")
        else:
            tool_result = tool_name_of_call(calls, last.get("tool_call_id"))
    turn = sum(1 for message in messages if message.get("role") == "user")
    return Conversation(question, tool_result, output, turn=max(1, turn))


def _include_usage(body: dict[str, Any], stream: bool) -> bool:
    """``stream_options.include_usage``, only allowed on a stream."""
    options = body.get("stream_options")
    if options is None:
        return False
    if not stream:
        raise invalid_value(
            "stream_options", "only allowed when 'stream' is enabled (set stream: true)."
        )
    if not isinstance(options, dict):
        raise invalid_type("stream_options", "an object", options)
    return get_bool(options, "include_usage")


def parse_chat_request(body: dict[str, Any], max_question_chars: int) -> ChatRequest:
    """Check a request body; every other field is accepted and ignored."""
    model = get_model(body)
    messages = get_messages(body, ROLES)
    texts = [
        content_text(message.get("content"), f"messages[{index}].content")
        for index, message in enumerate(messages)
    ]
    question = last_user_text(messages)
    check_question_length(question, max_question_chars)
    stream = get_bool(body, "stream")
    include_usage = _include_usage(body, stream)
    max_tokens = get_int(body, "max_completion_tokens", minimum=1)
    if max_tokens is None:
        max_tokens = get_int(body, "max_tokens", minimum=1)
    choices = get_int(body, "n", minimum=1)
    if choices not in (None, 1):
        raise invalid_value("n", "this server generates one choice; n must be 1.")
    stop = get_strings(body.get("stop"), "stop", max_items=MAX_STOP_SEQUENCES)
    tools = parse_tools(body)
    answer = AnswerRequest(
        chat_conversation(messages, question),
        tools,
        parse_tool_choice(body, tools),
        parse_response_format(body),
    )
    return ChatRequest(
        model=model,
        answer=answer,
        prompt_tokens=count_prompt_tokens(texts),
        stream=stream,
        include_usage=include_usage,
        max_tokens=max_tokens,
        stop=stop,
    )

"""Anthropic Messages over the scripted answers: ``POST /v1/messages``.

The wire format follows api.anthropic.com: ``event: <name>`` plus ``data: {"type": <name>, ...}``
for every event, ``ping`` as keep-alive, ``event: error`` for a failure after the stream began.
Reasoning is a ``thinking`` block (``thinking_delta``, then one ``signature_delta``), a tool
call a ``tool_use`` block (``input_json_delta`` fragments). See docs/llm-apis.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from quart import Blueprint, Response, request

from ..settings.answers import Conversation
from ..settings.model_presets import ModelPreset
from ..streaming.completions import (
    AnswerPlan,
    Block,
    FinishReason,
    Pace,
    ToolCall,
    count_prompt_tokens,
)
from ..streaming.faults import ScriptedFault
from ..streaming.frames import TextFrame
from ..streaming.playback import BlockEnd, BlockStart, Failed, Finished, KeepAlive, Piece, collect
from ..streaming.sse import encode_event
from ..web.errors import ApiError
from .requests import (
    SSE_HEADERS,
    LlmApiError,
    answer_response,
    check_question_length,
    compact_json,
    content_text,
    error_type_of,
    forced_tool,
    get_bool,
    get_int,
    get_messages,
    get_model,
    get_name,
    get_object,
    get_strings,
    invalid_value,
    json_response,
    missing,
    read_json_object,
    register_error_handlers,
    tool_name_of_call,
    tool_objects,
    tool_spec,
)
from .shaping import AnswerRequest, OutputFormat, ToolChoice, ToolSpec
from .state import LlmState, get_llm_state

API = "anthropic"
ANTHROPIC_VERSION_HEADER = "anthropic-version"
ROLES = ("user", "assistant")
STOP_REASONS: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_calls": "tool_use",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

anthropic_api = Blueprint("anthropic_api", __name__, url_prefix="/v1")


def error_type(status: int) -> str:
    """Anthropic's error ``type`` for an HTTP status."""
    return _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(kind: str, message: str) -> dict[str, Any]:
    """``{"type": "error", "error": {...}}`` as Anthropic sends it."""
    return {"type": "error", "error": {"type": kind, "message": message}}


def error_response(error: ApiError) -> Response:
    """The HTTP error response for ``error``."""
    kind = error_type_of(error) or error_type(error.status)
    response = json_response(error_body(kind, error.message), error.status)
    response.headers.update(error.headers)
    return response


_FAULT_WORDS = {
    "rate_limit": (
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit. Please try again later.",
    ),
    "server_error": (500, "api_error", "Internal server error"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "context_length": (
        400,
        "invalid_request_error",
        "prompt is too long: 200001 tokens > 200000 maximum",
    ),
}


def fault_error(fault: ScriptedFault) -> ApiError:
    """A scripted status fault as api.anthropic.com words it (``overloaded`` is its 529)."""
    status, kind, message = _FAULT_WORDS[fault.kind]
    return LlmApiError(
        status, kind, fault.message_or(message), error_type=kind, headers=fault.headers()
    )


register_error_handlers(anthropic_api, error_response, lambda error: "http_error", fault_error)


def _event(name: str, body: dict[str, Any]) -> bytes:
    return encode_event(compact_json({"type": name, **body}), event=name)


PING_FRAME = _event("ping", {})


def _text_delta_frame(index: int) -> TextFrame:
    """The ``content_block_delta`` of a text piece of block ``index``, rendered once."""
    return TextFrame(
        lambda text: _event(
            "content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": text}}
        )
    )


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


def require_model(state: LlmState, name: str) -> ModelPreset:
    """The preset for ``name``, or 404 ``not_found_error``."""
    model = state.find_model(name)
    if model is None:
        raise LlmApiError(404, "model_not_found", f"model: {name}", param="model")
    return model


_FAILURES: dict[str, tuple[int, str]] = {
    "rule": (500, "api_error"),
    "timeout": (504, "timeout_error"),
    "shutdown": (529, "overloaded_error"),
}


def _failure_type(event: Failed) -> str:
    return _FAILURES[event.kind][1]


def signature(thinking: str) -> str:
    """A stand-in for the signature that vouches for a thinking block: stable per text."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:  # cut short by max_tokens
        return {}


def _content_block(block: Block, text: str) -> dict[str, Any]:
    """A content block as the whole message shows it (empty at ``content_block_start``)."""
    if block.kind == "reasoning":
        return {"type": "thinking", "thinking": text, "signature": signature(text) if text else ""}
    if block.call is not None:
        tool_input = _arguments(text) if text else {}
        return {
            "type": "tool_use",
            "id": tool_use_id(block.call),
            "name": block.call.name,
            "input": tool_input,
        }
    return {"type": "text", "text": text}


def tool_use_id(call: ToolCall) -> str:
    """Anthropic's id for a tool call."""
    return f"toolu_{call.id}"


def _delta(piece: Piece) -> dict[str, Any]:
    if piece.block.kind == "reasoning":
        return {"type": "thinking_delta", "thinking": piece.text}
    if piece.block.call is not None:
        return {"type": "input_json_delta", "partial_json": piece.text}
    return {"type": "text_delta", "text": piece.text}


@dataclass(frozen=True)
class Message:
    """One accepted request: what to send and the message it builds."""

    state: LlmState
    request: MessagesRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    message_id: str
    request_id: str = ""

    @property
    def streamed(self) -> bool:
        """Whether the answer goes out as an event stream."""
        return self.request.stream

    def stream_headers(self) -> dict[str, str]:
        """The headers of the event stream."""
        return {**SSE_HEADERS, "request-id": self.request_id}

    @cached_property
    def _text_frames(self) -> dict[int, TextFrame]:
        return {}

    def piece_frame(self, piece: Piece) -> bytes:
        """The delta event of one piece: text from its block's template, the rest rendered."""
        block = piece.block
        if block.kind == "reasoning" or block.call is not None:
            return _event("content_block_delta", {"index": block.index, "delta": _delta(piece)})
        frame = self._text_frames.get(block.index)
        if frame is None:
            frame = self._text_frames[block.index] = _text_delta_frame(block.index)
        return frame(piece.text)

    def _message(
        self, content: list[dict[str, Any]], end: Finished | None, output_tokens: int
    ) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.request.model,
            "content": content,
            "stop_reason": STOP_REASONS[end.reason] if end else None,
            "stop_sequence": end.stop_sequence if end else None,
            "usage": {"input_tokens": self.request.input_tokens, "output_tokens": output_tokens},
        }

    async def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream: ``message_start`` ... ``message_stop``, or ``error``."""
        yield _event("message_start", {"message": self._message([], None, 0)})
        pinged = False
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            async for event in events:
                if isinstance(event, BlockStart):
                    start = {
                        "index": event.block.index,
                        "content_block": _content_block(event.block, ""),
                    }
                    yield _event("content_block_start", start)
                if not pinged:  # the real API pings once, after the first block starts
                    yield PING_FRAME
                    pinged = True
                if isinstance(event, Piece):
                    yield self.piece_frame(event)
                elif isinstance(event, BlockEnd):
                    if event.block.kind == "reasoning":
                        delta = {"type": "signature_delta", "signature": signature(event.text)}
                        yield _event(
                            "content_block_delta", {"index": event.block.index, "delta": delta}
                        )
                    yield _event("content_block_stop", {"index": event.block.index})
                elif isinstance(event, KeepAlive):
                    yield PING_FRAME
                elif isinstance(event, Finished):
                    stop = {
                        "stop_reason": STOP_REASONS[event.reason],
                        "stop_sequence": event.stop_sequence,
                    }
                    usage = {
                        "input_tokens": self.request.input_tokens,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "output_tokens": event.output_tokens,
                    }
                    yield _event("message_delta", {"delta": stop, "usage": usage})
                    yield _event("message_stop", {})
                elif isinstance(event, Failed):
                    yield encode_event(
                        compact_json(error_body(_failure_type(event), event.message)),
                        event="error",
                    )

    async def body(self) -> dict[str, Any]:
        """The ``message`` object, after the whole answer was paced out."""
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            result = await collect(events)
        if isinstance(result.end, Failed):
            status, kind = _FAILURES[result.end.kind]
            raise LlmApiError(status, kind, result.end.message)
        content = [_content_block(block, text) for block, text in result.blocks]
        return self._message(content, result.end, result.end.output_tokens)


async def begin_message(state: LlmState, body: dict[str, Any]) -> Message:
    """Check a request body and plan its answer (for the route and the ASGI fast path)."""
    parsed = parse_messages_request(body, state.settings.limits.max_question_chars)
    model = require_model(state, parsed.model)
    plan, pace = await state.plan(
        model, parsed.answer, max_tokens=parsed.max_tokens, stop=parsed.stop_sequences
    )
    message_id, request_id = f"msg_{uuid.uuid4().hex[:24]}", f"req_{uuid.uuid4().hex[:24]}"
    return Message(state, parsed, model, plan, pace, message_id, request_id)


@anthropic_api.post("/messages")
async def messages() -> Response:
    """Answer the conversation with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    message = await begin_message(state, await read_json_object())
    headers = {"request-id": message.request_id}
    return await answer_response(message.streamed, message.body, message.frames, headers)


def _model_info(state: LlmState, model: ModelPreset) -> dict[str, Any]:
    created = datetime.fromtimestamp(state.created, UTC).isoformat().replace("+00:00", "Z")
    return {
        "type": "model",
        "id": model.name,
        "display_name": model.name,
        "created_at": created,
        "lifecycle": "active",
    }


def anthropic_model_list(state: LlmState) -> Response:
    """``GET /v1/models`` in Anthropic's shape (routed by ``openai_api``, which owns the path)."""
    models = [_model_info(state, model) for model in state.listed_models()]
    return json_response(
        {
            "data": models,
            "has_more": False,
            "first_id": models[0]["id"],
            "last_id": models[-1]["id"],
        }
    )


def anthropic_model(state: LlmState, name: str) -> Response:
    """``GET /v1/models/<name>`` in Anthropic's shape."""
    model = state.find_model(name)
    if model is None:
        return json_response(error_body("not_found_error", f"model: {name}"), 404)
    return json_response(_model_info(state, model))

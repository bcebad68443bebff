"""OpenAI Chat Completions over the scripted answers: ``/v1/chat/completions``, ``/v1/models``.

The wire format follows api.openai.com: compact ``data:`` lines, no ``event:`` lines, the same
``id``/``created`` on every chunk, ``data: [DONE]`` last. Tool calls stream as
``delta.tool_calls`` (the first fragment carries ``id``, ``type`` and the name), reasoning as
``delta.reasoning_content`` (the convention of vLLM and other servers). See docs/llm-apis.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from quart import Blueprint, Response, request

from ..settings.answers import Conversation
from ..settings.model_presets import ModelPreset
from ..streaming.completions import AnswerPlan, FinishReason, Pace, ToolCall, count_prompt_tokens
from ..streaming.faults import ScriptedFault
from ..streaming.frames import Template, TextFrame
from ..streaming.playback import BlockStart, Failed, Finished, KeepAlive, Piece, collect
from ..streaming.sse import encode_comment, encode_event
from ..web.errors import ApiError
from .access import api_caller
from .anthropic import ANTHROPIC_VERSION_HEADER, anthropic_model, anthropic_model_list
from .requests import (
    SSE_HEADERS,
    LlmApiError,
    answer_response,
    check_question_length,
    compact_json,
    content_text,
    error_type_of,
    get_bool,
    get_int,
    get_messages,
    get_model,
    get_name,
    get_object,
    get_strings,
    invalid_type,
    invalid_value,
    json_response,
    last_user_text,
    openai_tool_choice,
    param_of,
    read_json_object,
    register_error_handlers,
    tool_name_of_call,
    tool_objects,
    tool_spec,
)
from .shaping import AnswerRequest, OutputFormat, ToolChoice, ToolSpec
from .state import LlmState, get_llm_state

API = "openai"
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_STOP_SEQUENCES = 4
SYSTEM_FINGERPRINT = "fp_quart_qa"
OWNED_BY = "quart-qa"
DONE_FRAME = b"data: [DONE]\n\n"
KEEP_ALIVE_FRAME = encode_comment("keep-alive")
FINISH_REASONS: dict[FinishReason, str] = {
    "stop": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
}

openai_api = Blueprint("openai_api", __name__, url_prefix="/v1")


def _error_type(status: int) -> str:
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(error: ApiError) -> dict[str, Any]:
    """``{"error": {...}}`` as OpenAI sends it."""
    return {
        "error": {
            "message": error.message,
            "type": error_type_of(error) or _error_type(error.status),
            "param": param_of(error),
            "code": error.code or None,
        }
    }


def error_response(error: ApiError) -> Response:
    """The HTTP error response for ``error``."""
    response = json_response(error_body(error), error.status)
    response.headers.update(error.headers)
    return response


def fault_error(fault: ScriptedFault) -> ApiError:
    """A scripted status fault as api.openai.com words it (``code`` null where it sends null)."""
    headers = fault.headers()
    match fault.kind:
        case "rate_limit":
            wait = f"{fault.fault.retry_after:g}s"
            return LlmApiError(
                429,
                "rate_limit_exceeded",
                fault.message_or(
                    "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
                    f"Requested 1. Please try again in {wait}."
                ),
                error_type="requests",
                headers=headers,
            )
        case "overloaded":
            return LlmApiError(
                503,
                "server_is_overloaded",
                fault.message_or("The server is overloaded or not ready yet."),
                error_type="service_unavailable_error",
                headers=headers,
            )
        case "context_length":
            return LlmApiError(
                400,
                "context_length_exceeded",
                fault.message_or(
                    "This model's maximum context length is 128000 tokens. However, your "
                    "messages resulted in 128001 tokens. Please reduce the length of the messages."
                ),
                param="messages",
                error_type="invalid_request_error",
            )
    return LlmApiError(
        500,
        "",
        fault.message_or(
            "The server had an error while processing your request. Sorry about that!"
        ),
        error_type="server_error",
    )


register_error_handlers(
    openai_api,
    error_response,
    lambda error: error.name.lower().replace(" ", "_"),
    fault_error,
)


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
    include_usage = False
    options = body.get("stream_options")
    if options is not None:
        if not stream:
            raise invalid_value(
                "stream_options", "only allowed when 'stream' is enabled (set stream: true)."
            )
        if not isinstance(options, dict):
            raise invalid_type("stream_options", "an object", options)
        include_usage = get_bool(options, "include_usage")
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


def require_model(state: LlmState, name: str) -> ModelPreset:
    """The preset for ``name``, or 404 ``model_not_found``."""
    model = state.find_model(name)
    if model is None:
        raise LlmApiError(
            404,
            "model_not_found",
            f"The model `{name}` does not exist on this server "
            f"(configured: {', '.join(m.name for m in state.listed_models())}).",
            param="model",
        )
    return model


def failure_error(event: Failed) -> LlmApiError:
    """The error a failed answer becomes (OpenAI's codes)."""
    if event.kind == "timeout":
        return LlmApiError(504, "timeout", event.message)
    if event.kind == "shutdown":
        return LlmApiError(503, "server_shutdown", event.message)
    return LlmApiError(500, "simulated_failure", event.message)


def _usage(prompt_tokens: int, end: Finished) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": end.output_tokens,
        "total_tokens": prompt_tokens + end.output_tokens,
    }
    if end.reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": end.reasoning_tokens}
    return usage


def call_id(call: ToolCall) -> str:
    """OpenAI's id for a tool call."""
    return f"call_{call.id}"


def _tool_call(call: ToolCall, arguments: str) -> dict[str, Any]:
    function = {"name": call.name, "arguments": arguments}
    return {"id": call_id(call), "type": "function", "function": function}


@dataclass(frozen=True)
class ChatCompletion:
    """One accepted request: what to send and the fields every chunk repeats."""

    state: LlmState
    chat: ChatRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    completion_id: str
    created: int
    request_id: str = ""

    @property
    def streamed(self) -> bool:
        """Whether the answer goes out as an event stream."""
        return self.chat.stream

    def stream_headers(self) -> dict[str, str]:
        """The headers of the event stream."""
        return {**SSE_HEADERS, "x-request-id": self.request_id}

    @cached_property
    def text_frame(self) -> TextFrame:
        """The chunk of a text delta, from the shared template; only the text is escaped per
        delta."""
        template = TEXT_CHUNKS[self.chat.include_usage]
        return template.text_frame(self.completion_id, self.created, self.chat.model)

    def _shared(self, template: Template) -> bytes:
        return template(self.completion_id, self.created, self.chat.model)

    def piece_frame(self, piece: Piece) -> bytes:
        """The chunk of one piece: plain text from the template, the rest rendered."""
        block = piece.block
        if block.call is None and block.kind != "reasoning":
            return self.text_frame(piece.text)
        return self.delta(_piece_delta(piece))

    def chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        """One ``chat.completion.chunk`` frame."""
        return _chunk(
            self.completion_id,
            self.created,
            self.chat.model,
            choices,
            self.chat.include_usage,
            usage,
        )

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        """A chunk with one choice."""
        return self.chunk([_choice(delta, finish_reason)])

    @property
    def has_content(self) -> bool:
        """Whether the answer has text (else ``content`` is null, as with tool calls only)."""
        return any(block.block.kind in ("text", "object") for block in self.plan.blocks)

    async def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream, ``[DONE]`` last; a failure is an ``error`` frame."""
        yield self._shared(ROLE_CHUNKS[self.chat.include_usage, self.has_content])
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            async for event in events:
                if isinstance(event, Piece):
                    yield self.piece_frame(event)
                elif isinstance(event, BlockStart) and event.block.call is not None:
                    call = {"index": event.block.call.index, **_tool_call(event.block.call, "")}
                    yield self.delta({"tool_calls": [call]})
                elif isinstance(event, KeepAlive):
                    yield KEEP_ALIVE_FRAME
                elif isinstance(event, Finished):
                    finish = FINISH_CHUNKS[self.chat.include_usage, FINISH_REASONS[event.reason]]
                    yield self._shared(finish)
                    if self.chat.include_usage:
                        yield self.chunk([], _usage(self.chat.prompt_tokens, event))
                elif isinstance(event, Failed):
                    yield encode_event(compact_json(error_body(failure_error(event))))
        yield DONE_FRAME

    async def body(self) -> dict[str, Any]:
        """The ``chat.completion`` object, after the whole answer was paced out."""
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            result = await collect(events)
        if isinstance(result.end, Failed):
            raise failure_error(result.end)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": result.text if self.has_content else None,
            "refusal": None,
        }
        if result.reasoning:
            message["reasoning_content"] = result.reasoning
        if result.tool_calls:
            message["tool_calls"] = [_tool_call(call, text) for call, text in result.tool_calls]
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.chat.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": FINISH_REASONS[result.end.reason],
                }
            ],
            "usage": _usage(self.chat.prompt_tokens, result.end),
        }


def _chunk(
    completion_id: str,
    created: int | str,
    model: str,
    choices: list[dict[str, Any]],
    include_usage: bool,
    usage: dict[str, Any] | None = None,
) -> bytes:
    """One ``chat.completion.chunk`` frame (``created`` a string only as a template's marker)."""
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
    }
    if include_usage:
        body["usage"] = usage
    return encode_event(compact_json(body))


def _choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _role_delta(has_content: bool) -> dict[str, Any]:
    """The first chunk's delta: the role (``content`` null when the answer has no text)."""
    return {"role": "assistant", "content": "" if has_content else None, "refusal": None}


# The chunks every stream sends, rendered once: only the id, ``created``, the model name (and
# the text) are filled per stream. Keyed by ``include_usage`` (and what varies besides).
ROLE_CHUNKS = {
    (usage, content): Template(
        lambda i, c, m, usage=usage, content=content: _chunk(
            i, c, m, [_choice(_role_delta(content))], usage
        ),
        3,
    )
    for usage in (False, True)
    for content in (False, True)
}
FINISH_CHUNKS = {
    (usage, reason): Template(
        lambda i, c, m, usage=usage, reason=reason: _chunk(i, c, m, [_choice({}, reason)], usage),
        3,
    )
    for usage in (False, True)
    for reason in set(FINISH_REASONS.values())
}
TEXT_CHUNKS = {
    usage: Template(
        lambda i, c, m, text, usage=usage: _chunk(i, c, m, [_choice({"content": text})], usage),
        4,
    )
    for usage in (False, True)
}


def _piece_delta(piece: Piece) -> dict[str, Any]:
    """A piece as a chunk's ``delta``."""
    block = piece.block
    if block.call is not None:
        return {"tool_calls": [{"index": block.call.index, "function": {"arguments": piece.text}}]}
    if block.kind == "reasoning":
        return {"reasoning_content": piece.text}
    return {"content": piece.text}


async def begin_chat_completion(state: LlmState, body: dict[str, Any]) -> ChatCompletion:
    """Check a request body and plan its answer (for the route and the ASGI fast path)."""
    chat = parse_chat_request(body, state.settings.limits.max_question_chars)
    model = require_model(state, chat.model)
    plan, pace = await state.plan(model, chat.answer, max_tokens=chat.max_tokens, stop=chat.stop)
    return ChatCompletion(
        state,
        chat,
        model,
        plan,
        pace,
        f"chatcmpl-{uuid.uuid4().hex}",
        int(time.time()),
        f"req_{uuid.uuid4().hex}",
    )


@openai_api.post("/chat/completions")
async def chat_completions() -> Response:
    """Answer the conversation with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    completion = await begin_chat_completion(state, await read_json_object())
    headers = {"x-request-id": completion.request_id}
    return await answer_response(completion.streamed, completion.body, completion.frames, headers)


def _model_object(state: LlmState, model: ModelPreset) -> dict[str, Any]:
    return {"id": model.name, "object": "model", "created": state.created, "owned_by": OWNED_BY}


@openai_api.get("/models")
async def list_models() -> Response:
    """The configured models (Anthropic's listing shape when ``anthropic-version`` is sent)."""
    state = get_llm_state()
    api_caller(state.settings.auth, request)
    if ANTHROPIC_VERSION_HEADER in request.headers:
        return anthropic_model_list(state)
    models = [_model_object(state, model) for model in state.listed_models()]
    return json_response({"object": "list", "data": models})


@openai_api.get("/models/<path:name>")
async def retrieve_model(name: str) -> Response:
    """One model, or 404 ``model_not_found``."""
    state = get_llm_state()
    api_caller(state.settings.auth, request)
    if ANTHROPIC_VERSION_HEADER in request.headers:
        return anthropic_model(state, name)
    return json_response(_model_object(state, require_model(state, name)))

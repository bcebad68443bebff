"""OpenAI Chat Completions over the scripted answers: ``/v1/chat/completions``, ``/v1/models``.

The wire format follows api.openai.com: compact ``data:`` lines, no ``event:`` lines, the same
``id``/``created`` on every chunk, ``data: [DONE]`` last. See docs/llm-apis.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from quart import Blueprint, Response, request

from ..settings.model_presets import ModelPreset
from ..streaming.completions import (
    AnswerPlan,
    Failed,
    Finished,
    KeepAlive,
    Pace,
    TextDelta,
    collect,
    count_prompt_tokens,
)
from ..streaming.sse import encode_comment, encode_event
from ..web.errors import ApiError
from .access import api_caller
from .anthropic import ANTHROPIC_VERSION_HEADER, anthropic_model, anthropic_model_list
from .requests import (
    LlmApiError,
    check_question_length,
    compact_json,
    content_text,
    get_bool,
    get_int,
    get_messages,
    get_model,
    get_strings,
    invalid_type,
    invalid_value,
    json_response,
    last_user_text,
    param_of,
    read_json_object,
    register_error_handlers,
)
from .state import LlmState, get_llm_state

API = "openai"
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MAX_STOP_SEQUENCES = 4
SYSTEM_FINGERPRINT = "fp_quart_qa"
OWNED_BY = "quart-qa"
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
DONE_FRAME = b"data: [DONE]\n\n"
KEEP_ALIVE_FRAME = encode_comment("keep-alive")

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
            "type": _error_type(error.status),
            "param": param_of(error),
            "code": error.code,
        }
    }


def error_response(error: ApiError) -> Response:
    """The HTTP error response for ``error``."""
    response = json_response(error_body(error), error.status)
    response.headers.update(error.headers)
    return response


register_error_handlers(
    openai_api, error_response, lambda error: error.name.lower().replace(" ", "_")
)


@dataclass(frozen=True)
class ChatRequest:
    """The parts of a chat completion request that change the answer."""

    model: str
    question: str
    prompt_tokens: int
    stream: bool
    include_usage: bool
    max_tokens: int | None
    stop: tuple[str, ...]


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
    return ChatRequest(
        model=model,
        question=question,
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


def _failure(event: Failed) -> LlmApiError:
    if event.kind == "timeout":
        return LlmApiError(504, "timeout", event.message)
    return LlmApiError(500, "simulated_failure", event.message)


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _finish_reason(event: Finished) -> str:
    return "length" if event.reason == "length" else "stop"


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

    def chunk(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
        """One ``chat.completion.chunk`` frame."""
        body: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.chat.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if self.chat.include_usage:
            body["usage"] = usage
        return encode_event(compact_json(body))

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        """A chunk with one choice."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self.chunk([choice])

    async def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream, ``[DONE]`` last; a failure is an ``error`` frame."""
        yield self.delta({"role": "assistant", "content": "", "refusal": None})
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            async for event in events:
                if isinstance(event, TextDelta):
                    yield self.delta({"content": event.text})
                elif isinstance(event, KeepAlive):
                    yield KEEP_ALIVE_FRAME
                elif isinstance(event, Finished):
                    yield self.delta({}, _finish_reason(event))
                    if self.chat.include_usage:
                        usage = _usage(self.chat.prompt_tokens, event.output_tokens)
                        yield self.chunk([], usage)
                else:
                    yield encode_event(compact_json(error_body(_failure(event))))
        yield DONE_FRAME

    async def body(self) -> dict[str, Any]:
        """The ``chat.completion`` object, after the whole answer was paced out."""
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            result = await collect(events)
        if isinstance(result.end, Failed):
            raise _failure(result.end)
        return {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.chat.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": result.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": _finish_reason(result.end),
                }
            ],
            "usage": _usage(self.chat.prompt_tokens, result.end.output_tokens),
        }


@openai_api.post("/chat/completions")
async def chat_completions() -> Response:
    """Answer the last user message with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    chat = parse_chat_request(await read_json_object(), state.settings.limits.max_question_chars)
    model = require_model(state, chat.model)
    plan, pace = state.plan(model, chat.question, max_tokens=chat.max_tokens, stop=chat.stop)
    completion = ChatCompletion(
        state, chat, model, plan, pace, f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    )
    headers = {"x-request-id": f"req_{uuid.uuid4().hex}"}
    if not chat.stream:
        response = json_response(await completion.body())
        response.headers.update(headers)
        return response
    response = Response(completion.frames(), status=200, headers={**SSE_HEADERS, **headers})
    response.timeout = None  # paced by the answer, bounded by stream.answer_timeout
    return response


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

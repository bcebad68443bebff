"""Anthropic Messages over the scripted answers: ``POST /v1/messages``.

The wire format follows api.anthropic.com: ``event: <name>`` plus ``data: {"type": <name>, ...}``
for every event, ``ping`` as keep-alive, ``event: error`` for a failure after the stream began.
See docs/llm-apis.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from quart import Blueprint, Response, request

from ..settings.model_presets import ModelPreset
from ..streaming.completions import (
    AnswerPlan,
    Failed,
    Finished,
    FinishReason,
    KeepAlive,
    Pace,
    TextDelta,
    collect,
    count_prompt_tokens,
)
from ..streaming.sse import encode_event
from ..web.errors import ApiError
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
    json_response,
    last_user_text,
    missing,
    read_json_object,
    register_error_handlers,
)
from .state import LlmState, get_llm_state

API = "anthropic"
ANTHROPIC_VERSION_HEADER = "anthropic-version"
ROLES = ("user", "assistant")
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}
STOP_REASONS: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
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
    response = json_response(error_body(error_type(error.status), error.message), error.status)
    response.headers.update(error.headers)
    return response


register_error_handlers(anthropic_api, error_response, lambda error: "http_error")


def _event(name: str, body: dict[str, Any]) -> bytes:
    return encode_event(compact_json({"type": name, **body}), event=name)


PING_FRAME = _event("ping", {})


@dataclass(frozen=True)
class MessagesRequest:
    """The parts of a Messages request that change the answer."""

    model: str
    question: str
    input_tokens: int
    max_tokens: int
    stream: bool
    stop_sequences: tuple[str, ...]


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
    question = last_user_text(messages)
    check_question_length(question, max_question_chars)
    return MessagesRequest(
        model=model,
        question=question,
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


def _failure_type(event: Failed) -> str:
    return "timeout_error" if event.kind == "timeout" else "api_error"


@dataclass(frozen=True)
class Message:
    """One accepted request: what to send and the message it builds."""

    state: LlmState
    request: MessagesRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    message_id: str

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
        yield _event(
            "content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}
        )
        yield PING_FRAME
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            async for event in events:
                if isinstance(event, TextDelta):
                    delta = {"type": "text_delta", "text": event.text}
                    yield _event("content_block_delta", {"index": 0, "delta": delta})
                elif isinstance(event, KeepAlive):
                    yield PING_FRAME
                elif isinstance(event, Finished):
                    yield _event("content_block_stop", {"index": 0})
                    stop = {
                        "stop_reason": STOP_REASONS[event.reason],
                        "stop_sequence": event.stop_sequence,
                    }
                    usage = {"output_tokens": event.output_tokens}
                    yield _event("message_delta", {"delta": stop, "usage": usage})
                    yield _event("message_stop", {})
                else:
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
            status = 504 if result.end.kind == "timeout" else 500
            raise LlmApiError(status, _failure_type(result.end), result.end.message)
        content = [{"type": "text", "text": result.text}]
        return self._message(content, result.end, result.end.output_tokens)


@anthropic_api.post("/messages")
async def messages() -> Response:
    """Answer the last user message with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    parsed = parse_messages_request(
        await read_json_object(), state.settings.limits.max_question_chars
    )
    model = require_model(state, parsed.model)
    plan, pace = state.plan(
        model, parsed.question, max_tokens=parsed.max_tokens, stop=parsed.stop_sequences
    )
    message = Message(state, parsed, model, plan, pace, f"msg_{uuid.uuid4().hex[:24]}")
    headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
    if not parsed.stream:
        response = json_response(await message.body())
        response.headers.update(headers)
        return response
    response = Response(message.frames(), status=200, headers={**SSE_HEADERS, **headers})
    response.timeout = None  # paced by the answer, bounded by stream.answer_timeout
    return response


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

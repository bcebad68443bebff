"""One accepted chat completion: its plan, its chunk stream and its whole object.

The wire format follows api.openai.com: compact ``data:`` lines, no ``event:`` lines, the same
``id``/``created`` on every chunk, ``data: [DONE]`` last. Tool calls stream as
``delta.tool_calls`` (the first fragment carries ``id``, ``type`` and the name), reasoning as
``delta.reasoning_content`` (the convention of vLLM and other servers). See docs/llm-apis.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..settings.model_presets import ModelPreset
from ..streaming.completions import AnswerPlan, Pace
from ..streaming.frames import Template, TextFrame
from ..streaming.playback import BlockStart, Failed, Finished, KeepAlive, Piece
from ..streaming.sse import encode_event
from ..web.errors import ApiError
from .api_responses import compact_json
from .api_run import ApiRun
from .openai_chat_body import chat_completion_object
from .openai_chat_chunks import (
    DONE_FRAME,
    FINISH_CHUNKS,
    FINISH_REASONS,
    KEEP_ALIVE_FRAME,
    ROLE_CHUNKS,
    TEXT_CHUNKS,
    choice,
    chunk,
    piece_delta,
    tool_call,
    usage,
)
from .openai_chat_request import ChatRequest, parse_chat_request
from .openai_errors import error_body, failure_error, require_model
from .state import LlmState


@dataclass(frozen=True)
class ChatCompletion(ApiRun):
    """One accepted request: what to send and the fields every chunk repeats."""

    api = "openai"

    state: LlmState
    request: ChatRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    completion_id: str
    created: int
    request_id: str = ""

    @cached_property
    def text_frame(self) -> TextFrame:
        """The chunk of a text delta, from the shared template; only the text is escaped per
        delta."""
        template = TEXT_CHUNKS[self.request.include_usage]
        return template.text_frame(self.completion_id, self.created, self.request.model)

    def _shared(self, template: Template) -> bytes:
        return template(self.completion_id, self.created, self.request.model)

    def piece_frame(self, piece: Piece) -> bytes:
        """The chunk of one piece: plain text from the template, the rest rendered."""
        block = piece.block
        if block.call is None and block.kind != "reasoning":
            return self.text_frame(piece.text)
        return self.delta(piece_delta(piece))

    def chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        """One ``chat.completion.chunk`` frame."""
        request = self.request
        return chunk(
            self.completion_id, self.created, request.model, choices, request.include_usage, usage
        )

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        """A chunk with one choice."""
        return self.chunk([choice(delta, finish_reason)])

    @property
    def has_content(self) -> bool:
        """Whether the answer has text (else ``content`` is null, as with tool calls only)."""
        return any(block.block.kind in ("text", "object") for block in self.plan.blocks)

    def failure_error(self, event: Failed) -> ApiError:
        """OpenAI's error for a failed answer."""
        return failure_error(event)

    async def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream, ``[DONE]`` last; a failure is an ``error`` frame."""
        include_usage = self.request.include_usage
        yield self._shared(ROLE_CHUNKS[include_usage, self.has_content])
        async with aclosing(self.play()) as events:
            async for event in events:
                if isinstance(event, Piece):
                    yield self.piece_frame(event)
                elif isinstance(event, BlockStart) and event.block.call is not None:
                    call = {"index": event.block.call.index, **tool_call(event.block.call, "")}
                    yield self.delta({"tool_calls": [call]})
                elif isinstance(event, KeepAlive):
                    yield KEEP_ALIVE_FRAME
                elif isinstance(event, Finished):
                    yield self._shared(FINISH_CHUNKS[include_usage, FINISH_REASONS[event.reason]])
                    if include_usage:
                        yield self.chunk([], usage(self.request.prompt_tokens, event))
                elif isinstance(event, Failed):
                    yield encode_event(compact_json(error_body(failure_error(event))))
        yield DONE_FRAME

    async def body(self) -> dict[str, Any]:
        """The ``chat.completion`` object, after the whole answer was paced out."""
        result, end = await self.collected()
        request = self.request
        return chat_completion_object(
            self.completion_id,
            self.created,
            request.model,
            request.prompt_tokens,
            result,
            end,
            self.has_content,
        )


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

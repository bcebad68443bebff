"""One accepted Messages request: its plan, its event stream and its whole ``message``.

The wire format follows api.anthropic.com: ``ping`` as keep-alive, ``event: error`` for a
failure after the stream began. Reasoning is a ``thinking`` block (``thinking_delta``, then one
``signature_delta``), a tool call a ``tool_use`` block (``input_json_delta`` fragments). See
docs/llm-apis.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..settings.model_presets import ModelPreset
from ..streaming.completions import AnswerPlan, Pace
from ..streaming.frames import TextFrame
from ..streaming.playback import BlockEnd, BlockStart, Failed, Finished, KeepAlive, Piece
from ..web.errors import ApiError
from .anthropic_errors import failure_error, require_model
from .anthropic_events import (
    PING_FRAME,
    event,
    failed_frame,
    finished_frames,
    piece_delta,
    text_delta_frame,
)
from .anthropic_message import content_block, message_object, signature
from .anthropic_request import MessagesRequest, parse_messages_request
from .api_run import ApiRun
from .state import LlmState


@dataclass(frozen=True)
class Message(ApiRun):
    """One accepted request: what to send and the message it builds."""

    api = "anthropic"
    request_id_header = "request-id"

    state: LlmState
    request: MessagesRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    message_id: str
    request_id: str = ""

    @cached_property
    def _text_frames(self) -> dict[int, TextFrame]:
        return {}

    def piece_frame(self, piece: Piece) -> bytes:
        """The delta event of one piece: text from its block's template, the rest rendered."""
        block = piece.block
        if block.kind == "reasoning" or block.call is not None:
            return event("content_block_delta", {"index": block.index, "delta": piece_delta(piece)})
        frame = self._text_frames.get(block.index)
        if frame is None:
            frame = self._text_frames[block.index] = text_delta_frame(block.index)
        return frame(piece.text)

    def _message(
        self, content: list[dict[str, Any]], end: Finished | None, output_tokens: int
    ) -> dict[str, Any]:
        request = self.request
        return message_object(
            self.message_id, request.model, request.input_tokens, content, end, output_tokens
        )

    def failure_error(self, event: Failed) -> ApiError:
        """Anthropic's error for a failed answer."""
        return failure_error(event)

    async def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream: ``message_start`` ... ``message_stop``, or ``error``."""
        yield event("message_start", {"message": self._message([], None, 0)})
        pinged = False
        async with aclosing(self.play()) as events:
            async for played in events:
                if isinstance(played, BlockStart):
                    start = {
                        "index": played.block.index,
                        "content_block": content_block(played.block, ""),
                    }
                    yield event("content_block_start", start)
                if not pinged:  # the real API pings once, after the first block starts
                    yield PING_FRAME
                    pinged = True
                if isinstance(played, Piece):
                    yield self.piece_frame(played)
                elif isinstance(played, BlockEnd):
                    index = played.block.index
                    if played.block.kind == "reasoning":
                        delta = {"type": "signature_delta", "signature": signature(played.text)}
                        yield event("content_block_delta", {"index": index, "delta": delta})
                    yield event("content_block_stop", {"index": index})
                elif isinstance(played, KeepAlive):
                    yield PING_FRAME
                elif isinstance(played, Finished):
                    for frame in finished_frames(played, self.request.input_tokens):
                        yield frame
                elif isinstance(played, Failed):
                    yield failed_frame(played)

    async def body(self) -> dict[str, Any]:
        """The ``message`` object, after the whole answer was paced out."""
        result, end = await self.collected()
        content = [content_block(block, text) for block, text in result.blocks]
        return self._message(content, end, end.output_tokens)


async def begin_message(state: LlmState, body: dict[str, Any]) -> Message:
    """Check a request body and plan its answer (for the route and the ASGI fast path)."""
    parsed = parse_messages_request(body, state.settings.limits.max_question_chars)
    model = require_model(state, parsed.model)
    plan, pace = await state.plan(
        model, parsed.answer, max_tokens=parsed.max_tokens, stop=parsed.stop_sequences
    )
    message_id, request_id = f"msg_{uuid.uuid4().hex[:24]}", f"req_{uuid.uuid4().hex[:24]}"
    return Message(state, parsed, model, plan, pace, message_id, request_id)

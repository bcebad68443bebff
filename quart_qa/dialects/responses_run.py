"""One accepted ``POST /v1/responses``: its plan, its event stream and its whole object.

The wire format follows api.openai.com: ``event: <type>`` plus ``data: {"type": <type>,
"sequence_number": n, ...}``; ``response.created`` and ``response.in_progress`` first, then
one output item a block (``reasoning`` with summary deltas, ``message`` with text deltas,
``function_call`` with argument deltas), each opened by ``response.output_item.added`` and
closed by its ``.done`` events, and ``response.completed`` (``response.incomplete`` when cut by
``max_output_tokens``) last. A failure after the stream began is an ``error`` event followed by
``response.failed``. Conversations continue with ``previous_response_id`` while the server
remembers them (see :mod:`.response_store`). See docs/llm-apis.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..settings.model_presets import ModelPreset
from ..streaming.completions import AnswerPlan, Pace
from ..streaming.playback import BlockEnd, BlockStart, Failed, Finished, KeepAlive, Piece
from ..web.errors import ApiError
from .api_run import ApiRun
from .openai_chat_chunks import KEEP_ALIVE_FRAME
from .openai_errors import failure_error, require_model
from .responses_items import OutputItem, new_item, output_text, response_event, summary
from .responses_object import ResponseFrames, response_object
from .responses_request import ResponsesRequest, new_id, parse_responses_request
from .state import LlmState


@dataclass
class ResponseRun(ApiRun):
    """One accepted request: the response object it builds and the events that stream it."""

    api = "responses"

    state: LlmState
    request: ResponsesRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    response_id: str = field(default_factory=lambda: new_id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex}")
    sequence: int = 0

    def response(
        self,
        status: str,
        output: Sequence[dict[str, Any]] = (),
        end: Finished | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``response`` object in one state of its life."""
        return response_object(
            self.request, self.response_id, self.created_at, status, output, end, error
        )

    def _finished(self, output: Sequence[dict[str, Any]], end: Finished) -> str:
        """The final status; the output remembered for ``previous_response_id``."""
        if self.request.store:
            self.state.responses.remember(self.response_id, [*self.request.items, *output])
        return "incomplete" if end.reason == "length" else "completed"

    def finish(self, output: Sequence[dict[str, Any]], end: Finished) -> dict[str, Any]:
        """The final response object; remembered for ``previous_response_id``."""
        return self.response(self._finished(output, end), output, end)

    @cached_property
    def _response_frames(self) -> ResponseFrames:
        return ResponseFrames(self.request, self.response_id, self.created_at)

    def response_event(
        self,
        kind: str,
        status: str,
        output: Sequence[dict[str, Any]] = (),
        end: Finished | None = None,
        error: dict[str, Any] | None = None,
    ) -> bytes:
        """An event carrying the whole response object, numbered; the keys that do not
        change with its state were rendered once for the stream."""
        frame = self._response_frames.event(kind, self.sequence, status, output, end, error)
        self.sequence += 1
        return frame

    def failure_error(self, event: Failed) -> ApiError:
        """OpenAI's error for a failed answer."""
        return failure_error(event)

    def event(self, kind: str, **fields: Any) -> bytes:
        """One event frame, numbered."""
        frame = response_event(kind, self.sequence, fields)
        self.sequence += 1
        return frame

    def _opened(self, item: OutputItem) -> list[bytes]:
        index = item.block.index
        frames = [
            self.event(
                "response.output_item.added", output_index=index, item=item.body("in_progress")
            )
        ]
        where = {"item_id": item.id, "output_index": index}
        if item.block.kind == "reasoning":
            frames.append(
                self.event(
                    "response.reasoning_summary_part.added",
                    **where,
                    summary_index=0,
                    part=summary(""),
                )
            )
        elif item.block.call is None:
            frames.append(
                self.event(
                    "response.content_part.added", **where, content_index=0, part=output_text("")
                )
            )
        return frames

    def _delta(self, item: OutputItem, text: str) -> bytes:
        """The item's delta event from its template: only the number and the text are filled."""
        frame = item.delta_frame(self.sequence, text)
        self.sequence += 1
        return frame

    def _closed(self, item: OutputItem) -> list[bytes]:
        where = {"item_id": item.id, "output_index": item.block.index}
        if item.block.kind == "reasoning":
            frames = [
                self.event(
                    "response.reasoning_summary_text.done", **where, summary_index=0, text=item.text
                ),
                self.event(
                    "response.reasoning_summary_part.done",
                    **where,
                    summary_index=0,
                    part=summary(item.text),
                ),
            ]
        elif item.block.call is not None:
            frames = [
                self.event("response.function_call_arguments.done", **where, arguments=item.text)
            ]
        else:
            frames = [
                self.event(
                    "response.output_text.done",
                    **where,
                    content_index=0,
                    text=item.text,
                    logprobs=[],
                ),
                self.event(
                    "response.content_part.done",
                    **where,
                    content_index=0,
                    part=output_text(item.text),
                ),
            ]
        frames.append(
            self.event(
                "response.output_item.done",
                output_index=item.block.index,
                item=item.body("completed"),
            )
        )
        return frames

    def _failed(self, end: Failed, done: Sequence[dict[str, Any]]) -> list[bytes]:
        """An ``error`` event, then ``response.failed``."""
        error = failure_error(end)
        fields = {"type": "server_error", "code": error.code, "message": error.message}
        failed = {"code": error.code, "message": error.message}
        return [
            self.event("error", error={**fields, "param": None}),
            self.response_event("response.failed", "failed", done, error=failed),
        ]

    async def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream, ``response.created`` ... ``response.completed``."""
        yield self.response_event("response.created", "in_progress")
        yield self.response_event("response.in_progress", "in_progress")
        items: dict[int, OutputItem] = {}
        done: list[dict[str, Any]] = []
        async with aclosing(self.play()) as events:
            async for event in events:
                if isinstance(event, BlockStart):
                    item = items[event.block.index] = new_item(event.block)
                    for frame in self._opened(item):
                        yield frame
                elif isinstance(event, Piece):
                    item = items[event.block.index]
                    item.text += event.text
                    yield self._delta(item, event.text)
                elif isinstance(event, BlockEnd):
                    item = items[event.block.index]
                    for frame in self._closed(item):
                        yield frame
                    done.append(item.body("completed"))
                elif isinstance(event, KeepAlive):
                    yield KEEP_ALIVE_FRAME
                elif isinstance(event, Finished):
                    status = self._finished(done, event)
                    yield self.response_event(f"response.{status}", status, done, event)
                elif isinstance(event, Failed):
                    for frame in self._failed(event, done):
                        yield frame

    async def body(self) -> dict[str, Any]:
        """The finished ``response`` object, after the whole answer was paced out."""
        result, end = await self.collected()
        output = []
        for block, text in result.blocks:
            item = new_item(block)
            item.text = text
            output.append(item.body("completed"))
        return self.finish(output, end)


async def begin_response(state: LlmState, body: dict[str, Any]) -> ResponseRun:
    """Check a request body and plan its answer (for the route and the ASGI fast path)."""
    parsed = parse_responses_request(state, body)
    model = require_model(state, parsed.model)
    plan, pace = await state.plan(model, parsed.answer, max_tokens=parsed.max_output_tokens)
    return ResponseRun(state, parsed, model, plan, pace)

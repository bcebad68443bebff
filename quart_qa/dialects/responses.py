"""The OpenAI Responses API over the scripted answers: ``POST /v1/responses``.

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

from quart import Blueprint, Response, request

from ..settings.model_presets import ModelPreset
from ..streaming.completions import AnswerPlan, Block, Pace
from ..streaming.frames import Template
from ..streaming.playback import BlockEnd, BlockStart, Failed, Finished, KeepAlive, Piece, collect
from ..streaming.sse import encode_comment, encode_event
from .openai_chat import call_id, error_response, failure_error, require_model
from .requests import (
    SSE_HEADERS,
    answer_response,
    compact_json,
    read_json_object,
    register_error_handlers,
)
from .responses_request import ResponsesRequest, new_id, parse_responses_request
from .state import LlmState, get_llm_state

API = "responses"
KEEP_ALIVE_FRAME = encode_comment("keep-alive")

responses_api = Blueprint("responses_api", __name__, url_prefix="/v1")
register_error_handlers(
    responses_api, error_response, lambda error: error.name.lower().replace(" ", "_")
)


def _summary(text: str) -> dict[str, Any]:
    return {"type": "summary_text", "text": text}


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


@dataclass
class OutputItem:
    """One output item while it streams: its block, id and text so far."""

    block: Block
    id: str
    text: str = ""

    def body(self, status: str) -> dict[str, Any]:
        """The item as ``output_item.added`` (``in_progress``) or ``.done`` shows it."""
        done = status != "in_progress"
        if self.block.kind == "reasoning":
            return {
                "id": self.id,
                "type": "reasoning",
                "summary": [_summary(self.text)] if done else [],
            }
        if self.block.call is not None:
            return {
                "id": self.id,
                "type": "function_call",
                "status": status,
                "arguments": self.text,
                "call_id": call_id(self.block.call),
                "name": self.block.call.name,
            }
        return {
            "id": self.id,
            "type": "message",
            "status": status,
            "content": [_output_text(self.text)] if done else [],
            "role": "assistant",
        }

    @cached_property
    def delta_frame(self) -> Template:
        """The item's delta event, rendered once: ``delta_frame(sequence_number, text)``."""
        where = {"item_id": self.id, "output_index": self.block.index}
        if self.block.kind == "reasoning":
            kind = "response.reasoning_summary_text.delta"
            return Template(
                lambda number, text: _event(
                    kind, number, {**where, "summary_index": 0, "delta": text}
                ),
                2,
            )
        if self.block.call is not None:
            kind = "response.function_call_arguments.delta"
            return Template(lambda number, text: _event(kind, number, {**where, "delta": text}), 2)
        kind = "response.output_text.delta"
        return Template(
            lambda number, text: _event(
                kind, number, {**where, "content_index": 0, "delta": text, "logprobs": []}
            ),
            2,
        )


def _event(kind: str, sequence: int | str, fields: dict[str, Any]) -> bytes:
    """One event frame (``sequence`` a string only as a template's marker)."""
    data = {"type": kind, "sequence_number": sequence, **fields}
    return encode_event(compact_json(data), event=kind)


def new_item(block: Block) -> OutputItem:
    """An output item for ``block``, with a fresh id."""
    prefix = "rs" if block.kind == "reasoning" else "fc" if block.call is not None else "msg"
    return OutputItem(block, new_id(prefix))


@dataclass
class ResponseRun:
    """One accepted request: the response object it builds and the events that stream it."""

    state: LlmState
    request: ResponsesRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    response_id: str = field(default_factory=lambda: new_id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex}")
    sequence: int = 0

    @property
    def streamed(self) -> bool:
        """Whether the answer goes out as an event stream."""
        return self.request.stream

    def stream_headers(self) -> dict[str, str]:
        """The headers of the event stream."""
        return {**SSE_HEADERS, "x-request-id": self.request_id}

    def response(
        self,
        status: str,
        output: Sequence[dict[str, Any]] = (),
        end: Finished | None = None,
        error: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The ``response`` object in one state of its life."""
        echo = self.request.echo
        incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "background": False,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": echo["instructions"],
            "max_output_tokens": echo["max_output_tokens"],
            "max_tool_calls": None,
            "model": self.request.model,
            "output": list(output),
            "parallel_tool_calls": echo["parallel_tool_calls"],
            "previous_response_id": echo["previous_response_id"],
            "prompt_cache_key": None,
            "reasoning": echo["reasoning"],
            "safety_identifier": None,
            "service_tier": "default",
            "store": echo["store"],
            "temperature": echo["temperature"],
            "text": echo["text"],
            "tool_choice": echo["tool_choice"],
            "tools": echo["tools"],
            "top_logprobs": 0,
            "top_p": echo["top_p"],
            "truncation": "disabled",
            "usage": self.usage(end) if end is not None else None,
            "user": echo["user"],
            "metadata": echo["metadata"],
        }

    def usage(self, end: Finished) -> dict[str, Any]:
        """``usage`` as the Responses API counts it."""
        tokens_in, tokens_out = self.request.input_tokens, end.output_tokens
        return {
            "input_tokens": tokens_in,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": tokens_out,
            "output_tokens_details": {"reasoning_tokens": end.reasoning_tokens},
            "total_tokens": tokens_in + tokens_out,
        }

    def finish(self, output: Sequence[dict[str, Any]], end: Finished) -> dict[str, Any]:
        """The final response object; remembered for ``previous_response_id``."""
        status = "incomplete" if end.reason == "length" else "completed"
        body = self.response(status, output, end)
        if self.request.store:
            self.state.responses.remember(self.response_id, [*self.request.items, *output])
        return body

    def event(self, kind: str, **fields: Any) -> bytes:
        """One event frame, numbered."""
        frame = _event(kind, self.sequence, fields)
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
                    part=_summary(""),
                )
            )
        elif item.block.call is None:
            frames.append(
                self.event(
                    "response.content_part.added", **where, content_index=0, part=_output_text("")
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
                    part=_summary(item.text),
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
                    part=_output_text(item.text),
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

    async def frames(self) -> AsyncIterator[bytes]:
        """The whole event stream, ``response.created`` ... ``response.completed``."""
        yield self.event("response.created", response=self.response("in_progress"))
        yield self.event("response.in_progress", response=self.response("in_progress"))
        items: dict[int, OutputItem] = {}
        done: list[dict[str, Any]] = []
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
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
                    body = self.finish(done, event)
                    kind = (
                        "response.incomplete"
                        if body["status"] == "incomplete"
                        else "response.completed"
                    )
                    yield self.event(kind, response=body)
                elif isinstance(event, Failed):
                    error = failure_error(event)
                    yield self.event(
                        "error",
                        error={
                            "type": "server_error",
                            "code": error.code,
                            "message": error.message,
                            "param": None,
                        },
                    )
                    failed = {"code": error.code, "message": error.message}
                    yield self.event(
                        "response.failed", response=self.response("failed", done, error=failed)
                    )

    async def body(self) -> dict[str, Any]:
        """The finished ``response`` object, after the whole answer was paced out."""
        events = self.state.play(API, self.model, self.plan, self.pace)
        async with aclosing(events):
            result = await collect(events)
        if isinstance(result.end, Failed):
            raise failure_error(result.end)
        output = []
        for block, text in result.blocks:
            item = new_item(block)
            item.text = text
            output.append(item.body("completed"))
        return self.finish(output, result.end)


async def begin_response(state: LlmState, body: dict[str, Any]) -> ResponseRun:
    """Check a request body and plan its answer (for the route and the ASGI fast path)."""
    parsed = parse_responses_request(state, body)
    model = require_model(state, parsed.model)
    plan, pace = await state.plan(model, parsed.answer, max_tokens=parsed.max_output_tokens)
    return ResponseRun(state, parsed, model, plan, pace)


@responses_api.post("/responses")
async def create_response() -> Response:
    """Answer the conversation with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    run = await begin_response(state, await read_json_object())
    headers = {"x-request-id": run.request_id}
    return await answer_response(run.streamed, run.body, run.frames, headers)

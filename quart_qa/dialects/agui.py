"""AG-UI over the scripted answers: ``POST /agui``, for AG-UI's HTTP agent (CopilotKit and others).

The body is AG-UI's ``RunAgentInput`` (``threadId``, ``runId``, ``messages``, ``tools``, ...);
the answer is SSE, one AG-UI event as JSON a ``data:`` line: ``RUN_STARTED``, the reasoning
events, ``TEXT_MESSAGE_START``/``CONTENT``/``END``, ``TOOL_CALL_START``/``ARGS``/``END``,
``TOOL_CALL_RESULT`` for a tool whose step scripts an ``output`` (the agent ran it), then
``RUN_FINISHED`` or ``RUN_ERROR``. A tool call without an output is the client's to run (a
frontend tool): the run finishes, and the client's next run carries the result, which a rule
with ``after_tool`` answers. See docs/frontends.md.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from quart import Quart, Response, request

from ..streaming.completions import AnswerPlan, Block, Pace
from ..streaming.frames import TextFrame
from ..streaming.playback import BlockEnd, BlockStart, Failed, Finished, KeepAlive, Piece
from ..streaming.sse import encode_comment, encode_event
from .api_errors import invalid_type
from .api_responses import SSE_HEADERS, compact_json, event_stream_response
from .json_body import read_json_object
from .message_params import check_question_length, get_messages
from .shaping import AnswerRequest, app_tools_request
from .state import LlmState, get_llm_state

KEEP_ALIVE_FRAME = encode_comment("keep-alive")
API = "agui"
ROLES = ("developer", "system", "assistant", "user", "tool", "reasoning", "activity")


def _event(kind: str, **fields: Any) -> bytes:
    return encode_event(compact_json({"type": kind, **fields}))


def _id(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return f"{key.removesuffix('Id')}_{uuid.uuid4().hex[:16]}"
    if not isinstance(value, str) or not value:
        raise invalid_type(key, "a non-empty string", value)
    return value


def content_text(content: object, where: str) -> str:
    """A message's ``content``: a string, or the ``text`` parts of a list of input parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_type(where, "a string or an array of content parts", content)
    return "".join(
        part["text"]
        for part in content
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part["text"], str)
    )


def _calls(message: Mapping[str, Any]) -> dict[str, str]:
    """The tool names of an assistant message's ``toolCalls``, by call id."""
    calls = message.get("toolCalls")
    names: dict[str, str] = {}
    if isinstance(calls, list):
        for call in calls:
            if isinstance(call, dict) and isinstance(call.get("function"), dict):
                names[str(call.get("id"))] = str(call["function"].get("name", ""))
    return names


@dataclass(frozen=True)
class RunInput:
    """The parts of a ``RunAgentInput`` that change the run."""

    thread_id: str
    run_id: str
    answer: AnswerRequest


def parse_run_input(body: Mapping[str, Any], max_question_chars: int) -> RunInput:
    """Read ``RunAgentInput``: the question is the last user message; a trailing ``tool``
    message is the result of the call it answers (the rules see that tool's name)."""
    thread_id, run_id = _id(body, "threadId"), _id(body, "runId")
    # A run may start with no messages at all (an agent that speaks first).
    messages = [] if body.get("messages") == [] else get_messages(body, ROLES)
    question, turn = "", 0
    names: dict[str, str] = {}
    result: tuple[str, str] | None = None
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = message["role"]
        result = None
        if role == "user":
            question = content_text(message.get("content"), f"{where}.content")
            turn += 1
        elif role == "assistant":
            names.update(_calls(message))
        elif role == "tool":
            output = content_text(message.get("content"), f"{where}.content")
            result = (names.get(str(message.get("toolCallId")), ""), output)
    check_question_length(question, max_question_chars)
    return RunInput(thread_id, run_id, app_tools_request(question, turn, result))


def _message_ids(blocks: Sequence[Block]) -> dict[int, str]:
    """One message id a block; tool calls belong to the text message before them."""
    ids: dict[int, str] = {}
    for block in blocks:
        ids[block.index] = (
            f"{'reasoning' if block.kind == 'reasoning' else 'msg'}_{uuid.uuid4().hex[:16]}"
        )
    return ids


@dataclass
class AgentRun:
    """One run: the plan played as AG-UI events."""

    state: LlmState
    run: RunInput
    plan: AnswerPlan
    pace: Pace
    _content_frames: dict[int, TextFrame] = field(default_factory=dict)

    streamed = True  # a run answers with a stream, always

    @staticmethod
    def stream_headers() -> dict[str, str]:
        """The headers of the event stream."""
        return dict(SSE_HEADERS)

    async def frames(self) -> AsyncIterator[bytes]:
        """``RUN_STARTED`` ... ``RUN_FINISHED``, or ``RUN_ERROR`` after what was sent."""
        ids = {"threadId": self.run.thread_id, "runId": self.run.run_id}
        yield _event("RUN_STARTED", **ids)
        message_ids = _message_ids([planned.block for planned in self.plan.blocks])
        parent: str | None = None
        events = self.state.play(API, self.state.default_model(), self.plan, self.pace)
        async with aclosing(events):
            async for event in events:
                if isinstance(event, Piece):
                    yield self._content_frame(event.block, message_ids[event.block.index])(
                        event.text
                    )
                elif isinstance(event, BlockStart | BlockEnd):
                    block = event.block
                    message_id = message_ids[block.index]
                    if block.kind in ("text", "object"):
                        parent = message_id
                    for frame in self._block_event(event, message_id, parent):
                        yield frame
                elif isinstance(event, KeepAlive):
                    yield KEEP_ALIVE_FRAME
                elif isinstance(event, Finished):
                    yield _event("RUN_FINISHED", **ids)
                elif isinstance(event, Failed):
                    code = "timeout" if event.kind == "timeout" else "scripted_failure"
                    yield _event("RUN_ERROR", message=event.message, code=code)

    def _content_frame(self, block: Block, message_id: str) -> TextFrame:
        """The block's content event, rendered once; only the text is escaped per delta."""
        frame = self._content_frames.get(block.index)
        if frame is None:
            frame = TextFrame(
                lambda text: self._block_event(Piece(block, text), message_id, None)[0]
            )
            self._content_frames[block.index] = frame
        return frame

    @staticmethod
    def _block_event(
        event: BlockStart | Piece | BlockEnd, message_id: str, parent: str | None
    ) -> list[bytes]:
        block = event.block
        call = block.call
        if call is not None:
            call_id = f"call_{call.id}"
            if isinstance(event, BlockStart):
                start: dict[str, Any] = {"toolCallId": call_id, "toolCallName": call.name}
                if parent is not None:
                    start["parentMessageId"] = parent
                return [_event("TOOL_CALL_START", **start)]
            if isinstance(event, Piece):
                return [_event("TOOL_CALL_ARGS", toolCallId=call_id, delta=event.text)]
            frames = [_event("TOOL_CALL_END", toolCallId=call_id)]
            if call.output is not None:
                frames.append(
                    _event(
                        "TOOL_CALL_RESULT",
                        messageId=f"result_{call.id}",
                        toolCallId=call_id,
                        content=call.output,
                        role="tool",
                    )
                )
            return frames
        if block.kind == "reasoning":
            if isinstance(event, BlockStart):
                return [
                    _event("REASONING_START", messageId=message_id),
                    _event("REASONING_MESSAGE_START", messageId=message_id, role="reasoning"),
                ]
            if isinstance(event, Piece):
                return [_event("REASONING_MESSAGE_CONTENT", messageId=message_id, delta=event.text)]
            return [
                _event("REASONING_MESSAGE_END", messageId=message_id),
                _event("REASONING_END", messageId=message_id),
            ]
        if isinstance(event, BlockStart):
            return [_event("TEXT_MESSAGE_START", messageId=message_id, role="assistant")]
        if isinstance(event, Piece):
            return [_event("TEXT_MESSAGE_CONTENT", messageId=message_id, delta=event.text)]
        return [_event("TEXT_MESSAGE_END", messageId=message_id)]


async def begin_agent_run(state: LlmState, body: dict[str, Any]) -> AgentRun:
    """Check a ``RunAgentInput`` and plan the run (for the route and the ASGI fast path)."""
    run = parse_run_input(body, state.settings.limits.max_question_chars)
    plan, pace = await state.plan(state.default_model(), run.answer)
    return AgentRun(state, run, plan, pace)


async def run_agent() -> Response:
    """Run the scripted agent on ``RunAgentInput`` and stream its AG-UI events."""
    state = get_llm_state()
    state.check_access(request)
    return event_stream_response((await begin_agent_run(state, await read_json_object())).frames())


def mount_agui(app: Quart, path: str) -> None:
    """Serve the AG-UI agent at ``path``."""
    app.add_url_rule(path, "agui_run", run_agent, methods=["POST"])

"""The Vercel AI SDK's UI message stream over the scripted answers: ``POST /api/chat``.

What ``useChat`` (and the AI SDK's ``Chat`` classes) read from an app's own chat route: SSE
with the ``x-vercel-ai-ui-message-stream: v1`` header, one JSON chunk a ``data:`` line
(``start``, ``start-step``, reasoning and text ``-start``/``-delta``/``-end``, tool input and
output chunks, ``finish-step``, ``finish``, ``error``), ``data: [DONE]`` last. The endpoint
plays the part of the app's server: a tool call whose step scripts an ``output`` runs "on the
server" (its output follows in the same response, then the next step); one without ends the
step, so the page's ``onToolCall``/``addToolOutput`` loop sends the next request, which a rule
with ``after_tool`` answers. See docs/frontends.md.
"""

from __future__ import annotations

import json
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
from .api_errors import invalid_type, missing
from .api_responses import SSE_HEADERS, compact_json, event_stream_response
from .json_body import read_json_object
from .message_params import check_question_length, get_messages
from .shaping import AnswerRequest, app_tools_request
from .state import LlmState, get_llm_state

KEEP_ALIVE_FRAME = encode_comment("keep-alive")
API = "ai_sdk"
UI_MESSAGE_STREAM_HEADER = {"x-vercel-ai-ui-message-stream": "v1"}
ROLES = ("system", "user", "assistant")
DONE_FRAME = encode_event("[DONE]")
FINISH_REASONS = {"stop": "stop", "length": "length", "stop_sequence": "stop"}


def _chunk(body: Mapping[str, Any]) -> bytes:
    return encode_event(compact_json(body))


def _parts(message: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    parts = message.get("parts")
    if parts is None:
        raise missing(f"{where}.parts")
    if not isinstance(parts, list):
        raise invalid_type(f"{where}.parts", "an array", parts)
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            raise invalid_type(f"{where}.parts[{index}]", "an object", part)
        if not isinstance(part.get("type"), str):
            raise invalid_type(f"{where}.parts[{index}].type", "a string", part.get("type"))
    return parts


def _text(parts: Sequence[Mapping[str, Any]]) -> str:
    return "".join(
        part["text"] for part in parts if part["type"] == "text" and isinstance(part["text"], str)
    )


def _tool_name(part: Mapping[str, Any]) -> str:
    kind: str = part["type"]
    if kind == "dynamic-tool":
        return str(part.get("toolName", ""))
    return kind.removeprefix("tool-")


def _tool_result(parts: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """The last step's tool output the client added (its tool name and output as JSON)."""
    for part in reversed(parts):
        if part["type"] == "step-start":
            return None
        is_tool = part["type"].startswith("tool-") or part["type"] == "dynamic-tool"
        if is_tool and part.get("state") == "output-available" and not part.get("providerExecuted"):
            return _tool_name(part), compact_json(part.get("output"))
    return None


@dataclass(frozen=True)
class ChatBody:
    """A request of ``useChat``: what it asks, and the assistant message it continues.

    After a client-side tool the last message is the assistant's, holding the tool's output:
    the answer continues that message (the same ``messageId``), as the AI SDK's own server
    helpers do, so the page shows one message for the whole turn.
    """

    answer: AnswerRequest
    continues: str | None


def parse_chat_body(body: Mapping[str, Any], max_question_chars: int) -> ChatBody:
    """What ``useChat`` sent: ``messages`` (UI messages with ``parts``), ``id``, ``trigger``.

    The question is the last user message's text; when the last message is the assistant's
    with a tool output the page added (a client-side tool), the rules see that tool's result.
    """
    messages = get_messages(body, ROLES)
    question, turn, result = "", 0, None
    continues: str | None = None
    for index, message in enumerate(messages):
        role = message["role"]
        parts = _parts(message, f"messages[{index}]")
        if role == "user":
            question, turn = _text(parts), turn + 1
        result = _tool_result(parts) if role == "assistant" else None
        message_id = message.get("id")
        continues = message_id if role == "assistant" and isinstance(message_id, str) else None
    check_question_length(question, max_question_chars)
    return ChatBody(app_tools_request(question, turn, result), continues)


@dataclass
class UiMessageStream:
    """One response: the plan played as UI message chunks."""

    state: LlmState
    plan: AnswerPlan
    pace: Pace
    message_id: str
    _delta_frames: dict[int, TextFrame] = field(default_factory=dict)

    streamed = True  # the endpoint answers with a stream, always

    @staticmethod
    def stream_headers() -> dict[str, str]:
        """The headers of the event stream."""
        return {**SSE_HEADERS, **UI_MESSAGE_STREAM_HEADER}

    async def frames(self) -> AsyncIterator[bytes]:
        """``start`` ... ``finish``, or ``error``; ``[DONE]`` last in every case."""
        yield _chunk({"type": "start", "messageId": self.message_id})
        yield _chunk({"type": "start-step"})
        client_tools = False
        events = self.state.play(API, self.state.default_model(), self.plan, self.pace)
        async with aclosing(events):
            async for event in events:
                if isinstance(event, BlockStart):
                    yield _chunk(self._start(event.block))
                elif isinstance(event, Piece):
                    yield self._delta_frame(event.block)(event.text)
                elif isinstance(event, BlockEnd):
                    for body in self._end(event.block, event.text):
                        yield _chunk(body)
                    call = event.block.call
                    if call is not None and call.output is None:
                        client_tools = True
                    elif call is not None and not self._last(event.block):
                        # The server ran the tool: the model's next step reads its output.
                        yield _chunk({"type": "finish-step"})
                        yield _chunk({"type": "start-step"})
                elif isinstance(event, KeepAlive):
                    yield KEEP_ALIVE_FRAME
                elif isinstance(event, Finished):
                    reason = "tool-calls" if client_tools else FINISH_REASONS.get(event.reason)
                    yield _chunk({"type": "finish-step"})
                    yield _chunk({"type": "finish", "finishReason": reason or "stop"})
                elif isinstance(event, Failed):
                    yield _chunk({"type": "error", "errorText": event.message})
        yield DONE_FRAME

    def _last(self, block: Block) -> bool:
        return block.index == len(self.plan.blocks) - 1

    @staticmethod
    def _part_id(block: Block) -> str:
        return f"{block.kind}-{block.index}"

    def _start(self, block: Block) -> dict[str, Any]:
        if block.call is not None:
            return {
                "type": "tool-input-start",
                "toolCallId": tool_call_id(block),
                "toolName": block.call.name,
            }
        kind = "reasoning" if block.kind == "reasoning" else "text"
        return {"type": f"{kind}-start", "id": self._part_id(block)}

    def _delta_frame(self, block: Block) -> TextFrame:
        """The block's delta chunk, rendered once; only the text is escaped per delta."""
        frame = self._delta_frames.get(block.index)
        if frame is None:
            frame = TextFrame(lambda text: _chunk(self._delta(block, text)))
            self._delta_frames[block.index] = frame
        return frame

    def _delta(self, block: Block, text: str) -> dict[str, Any]:
        if block.call is not None:
            return {
                "type": "tool-input-delta",
                "toolCallId": tool_call_id(block),
                "inputTextDelta": text,
            }
        kind = "reasoning" if block.kind == "reasoning" else "text"
        return {"type": f"{kind}-delta", "id": self._part_id(block), "delta": text}

    def _end(self, block: Block, text: str) -> list[dict[str, Any]]:
        call = block.call
        if call is None:
            kind = "reasoning" if block.kind == "reasoning" else "text"
            return [{"type": f"{kind}-end", "id": self._part_id(block)}]
        available = {
            "type": "tool-input-available",
            "toolCallId": tool_call_id(block),
            "toolName": call.name,
            "input": json.loads(text),
        }
        if call.output is None:
            return [available]
        output = {
            "type": "tool-output-available",
            "toolCallId": tool_call_id(block),
            "output": json.loads(call.output),
        }
        return [available, output]


def tool_call_id(block: Block) -> str:
    """The AI SDK's id for a tool call (any string; ``call_`` as its providers use)."""
    assert block.call is not None
    return f"call_{block.call.id}"


async def begin_ui_message_stream(state: LlmState, body: dict[str, Any]) -> UiMessageStream:
    """Check a request body and plan its answer (for the route and the ASGI fast path)."""
    chat = parse_chat_body(body, state.settings.limits.max_question_chars)
    plan, pace = await state.plan(state.default_model(), chat.answer)
    message_id = chat.continues or f"msg_{uuid.uuid4().hex[:24]}"
    return UiMessageStream(state, plan, pace, message_id)


async def ui_message_stream() -> Response:
    """Answer the conversation ``useChat`` sent with the scripted rule, as a UI message stream."""
    state = get_llm_state()
    state.check_access(request)
    stream = await begin_ui_message_stream(state, await read_json_object())
    return event_stream_response(stream.frames(), UI_MESSAGE_STREAM_HEADER)


async def no_stream_to_resume(chat_id: str) -> Response:
    """``GET <path>/<id>/stream``: the transport's resume request; nothing is kept to resume."""
    return Response(status=204)


def mount_ai_sdk(app: Quart, path: str) -> None:
    """Serve the UI message stream at ``path`` (and the transport's resume URL under it)."""
    app.add_url_rule(path, "ai_sdk_chat", ui_message_stream, methods=["POST"])
    app.add_url_rule(
        f"{path}/<chat_id>/stream", "ai_sdk_resume", no_stream_to_resume, methods=["GET"]
    )

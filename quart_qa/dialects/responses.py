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
from typing import Any

from quart import Blueprint, Response, request

from ..settings.answers import Conversation
from ..settings.model_presets import ModelPreset
from ..streaming.completions import (
    AnswerPlan,
    Block,
    BlockEnd,
    BlockStart,
    Failed,
    Finished,
    KeepAlive,
    Pace,
    Piece,
    collect,
    count_prompt_tokens,
)
from ..streaming.sse import encode_comment, encode_event
from .openai_chat import call_id, error_response, failure_error, require_model
from .requests import (
    LlmApiError,
    answer_response,
    check_question_length,
    compact_json,
    get_bool,
    get_int,
    get_model,
    get_name,
    get_object,
    get_string,
    invalid_type,
    invalid_value,
    missing,
    openai_tool_choice,
    read_json_object,
    register_error_handlers,
    tool_name_of_call,
    tool_objects,
    tool_spec,
)
from .response_store import Item
from .shaping import AnswerRequest, OutputFormat, ToolChoice, ToolSpec
from .state import LlmState, get_llm_state

API = "responses"
ROLES = ("user", "assistant", "system", "developer")
KEEP_ALIVE_FRAME = encode_comment("keep-alive")

responses_api = Blueprint("responses_api", __name__, url_prefix="/v1")
register_error_handlers(
    responses_api, error_response, lambda error: error.name.lower().replace(" ", "_")
)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _part_text(part: object) -> str:
    text = part.get("text") if isinstance(part, dict) else None
    return text if isinstance(text, str) else ""


def item_text(content: object, param: str) -> str:
    """The text of a message's ``content`` or a tool output: a string, or text parts joined."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_type(param, "a string or an array of content parts", content)
    return "\n".join(text for text in map(_part_text, content) if text)


def _check_item(item: object, where: str) -> Item:
    if not isinstance(item, dict):
        raise invalid_type(where, "an object", item)
    kind = item.get("type", "message")
    if kind == "message":
        role = item.get("role")
        if role is None:
            raise missing(f"{where}.role")
        if role not in ROLES:
            allowed = ", ".join(repr(name) for name in ROLES)
            raise invalid_value(f"{where}.role", f"must be one of {allowed}, got {role!r}.")
        item_text(item.get("content"), f"{where}.content")
    elif kind in ("function_call", "function_call_output"):
        if not isinstance(item.get("call_id"), str):
            raise missing(f"{where}.call_id")
        if kind == "function_call_output":
            item_text(item.get("output"), f"{where}.output")
    return item


def parse_input(body: dict[str, Any]) -> list[Item]:
    """``input``: a string (one user message) or an array of items."""
    value = body.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list):
        raise invalid_type("input", "a string or an array of items", value)
    return [_check_item(item, f"input[{index}]") for index, item in enumerate(value)]


def parse_tools(body: dict[str, Any]) -> tuple[ToolSpec, ...]:
    """``tools``: function tools; hosted tools (web search, ...) are never called."""
    tools = []
    for where, tool in tool_objects(body):
        if tool.get("type") != "function":
            continue
        name = get_name(tool, "name", f"{where}.name")
        tools.append(tool_spec(name, tool.get("parameters"), where))
    return tuple(tools)


def parse_tool_choice(body: dict[str, Any], tools: Sequence[ToolSpec]) -> ToolChoice:
    """``tool_choice``: ``none``, ``auto``, ``required`` or ``{"type": "function", "name"}``."""
    return openai_tool_choice(body, tools, ("name",))


def parse_text_format(body: dict[str, Any]) -> OutputFormat:
    """``text.format``: ``text``, ``json_object`` or ``json_schema`` with its schema."""
    text = get_object(body, "text") or {}
    form = get_object(text, "format", "text.format")
    if form is None or form.get("type") == "text":
        return OutputFormat()
    if form.get("type") == "json_object":
        return OutputFormat("json_object", param="text.format")
    if form.get("type") == "json_schema":
        schema = get_object(form, "schema", "text.format.schema") or {}
        return OutputFormat("json_schema", schema, "text.format.schema")
    raise invalid_value("text.format.type", "must be 'text', 'json_object' or 'json_schema'.")


def items_conversation(items: Sequence[Item]) -> Conversation:
    """What the rules match on: the last question, a trailing tool result, the user's turn."""
    calls = {
        str(item.get("call_id")): str(item.get("name", ""))
        for item in items
        if item.get("type") == "function_call"
    }
    questions = [
        item
        for item in items
        if item.get("type", "message") == "message" and item.get("role") == "user"
    ]
    question = item_text(questions[-1].get("content"), "input") if questions else ""
    turn = max(1, len(questions))
    last = items[-1] if items else {}
    if last.get("type") != "function_call_output":
        return Conversation(question, turn=turn)
    output = item_text(last.get("output"), "input")
    return Conversation(question, tool_result_name(calls, last), output, turn=turn)


def tool_result_name(calls: dict[str, str], result: Item) -> str:
    """The tool a ``function_call_output`` answers (``""`` when its call is unknown)."""
    return tool_name_of_call(calls, result.get("call_id"))


def _items_text(items: Sequence[Item]) -> list[str]:
    texts = []
    for item in items:
        texts.append(item_text(item.get("content"), "input") if "content" in item else "")
        texts.append(item_text(item.get("output"), "input") if "output" in item else "")
        if isinstance(item.get("arguments"), str):
            texts.append(item["arguments"])
    return texts


@dataclass(frozen=True)
class ResponsesRequest:
    """The parts of a Responses request that change the answer, and what the response echoes."""

    model: str
    answer: AnswerRequest
    items: tuple[Item, ...]
    input_tokens: int
    stream: bool
    store: bool
    max_output_tokens: int | None
    echo: dict[str, Any] = field(default_factory=dict)


def _resolve(state: LlmState, items: list[Item]) -> list[Item]:
    """``item_reference`` items replaced by the remembered items they name."""
    resolved = []
    for item in items:
        if item.get("type") == "item_reference":
            found = state.responses.item(str(item.get("id")))
            if found is not None:
                resolved.append(found)
        else:
            resolved.append(item)
    return resolved


def parse_responses_request(state: LlmState, body: dict[str, Any]) -> ResponsesRequest:
    """Check a request body; every other field is accepted and ignored."""
    model = get_model(body)
    instructions = get_string(body, "instructions")
    items = parse_input(body)
    previous = get_string(body, "previous_response_id")
    if previous is not None:
        earlier = state.responses.items(previous)
        if earlier is None:
            raise LlmApiError(
                404,
                "previous_response_not_found",
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
            )
        items = [*earlier, *items]
    items = _resolve(state, items)
    if not items:
        raise missing("input")
    conversation = items_conversation(items)
    check_question_length(conversation.question, state.settings.limits.max_question_chars)
    tools = parse_tools(body)
    answer = AnswerRequest(
        conversation, tools, parse_tool_choice(body, tools), parse_text_format(body)
    )
    max_output_tokens = get_int(body, "max_output_tokens", minimum=1)
    store = body.get("store") is not False
    text = get_object(body, "text") or {}
    reasoning = get_object(body, "reasoning") or {}
    echo = {
        "instructions": instructions,
        "max_output_tokens": max_output_tokens,
        "tools": body.get("tools") or [],
        "tool_choice": body.get("tool_choice") or "auto",
        "text": {"format": text.get("format") or {"type": "text"}, "verbosity": "medium"},
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "previous_response_id": previous,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "temperature": body.get("temperature", 1.0),
        "top_p": body.get("top_p", 1.0),
        "store": store,
        "metadata": body.get("metadata") or {},
        "user": body.get("user"),
    }
    return ResponsesRequest(
        model=model,
        answer=answer,
        items=tuple(items),
        input_tokens=count_prompt_tokens([instructions or "", *_items_text(items)]),
        stream=get_bool(body, "stream"),
        store=store,
        max_output_tokens=max_output_tokens,
        echo=echo,
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


def new_item(block: Block) -> OutputItem:
    """An output item for ``block``, with a fresh id."""
    prefix = "rs" if block.kind == "reasoning" else "fc" if block.call is not None else "msg"
    return OutputItem(block, _new_id(prefix))


@dataclass
class ResponseRun:
    """One accepted request: the response object it builds and the events that stream it."""

    state: LlmState
    request: ResponsesRequest
    model: ModelPreset
    plan: AnswerPlan
    pace: Pace
    response_id: str = field(default_factory=lambda: _new_id("resp"))
    created_at: int = field(default_factory=lambda: int(time.time()))
    sequence: int = 0

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
        data = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return encode_event(compact_json(data), event=kind)

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
        where = {"item_id": item.id, "output_index": item.block.index}
        if item.block.kind == "reasoning":
            return self.event(
                "response.reasoning_summary_text.delta", **where, summary_index=0, delta=text
            )
        if item.block.call is not None:
            return self.event("response.function_call_arguments.delta", **where, delta=text)
        return self.event(
            "response.output_text.delta", **where, content_index=0, delta=text, logprobs=[]
        )

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


@responses_api.post("/responses")
async def create_response() -> Response:
    """Answer the conversation with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    parsed = parse_responses_request(state, await read_json_object())
    model = require_model(state, parsed.model)
    plan, pace = state.plan(model, parsed.answer, max_tokens=parsed.max_output_tokens)
    run = ResponseRun(state, parsed, model, plan, pace)
    headers = {"x-request-id": f"req_{uuid.uuid4().hex}"}
    return await answer_response(parsed.stream, run.body, run.frames, headers)

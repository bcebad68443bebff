"""Asking a running server, in any of its three protocols, and reading the answer as pieces.

Each conversation turns its wire format (the chat page's events, OpenAI chunks, Anthropic
events) into the same :data:`Piece` values, so ``ask`` and ``demo`` print one kind of thing.
A conversation keeps its history: the chat page's stream stays open between questions, and
the LLM APIs are sent the earlier turns.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx

from .sse_frames import SseEvent, SseParser

Api = Literal["qa", "openai", "anthropic"]
APIS: tuple[Api, ...] = ("qa", "openai", "anthropic")
DEFAULT_MODEL = "quart-qa-1"
DEFAULT_API_KEY = "quart-qa"  # any key does for a server in auth mode "none"
ANTHROPIC_VERSION = "2023-06-01"
MAX_TOKENS = 4096
ANY_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}  # tools offered by name


@dataclass(frozen=True)
class Text:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """A piece of the model's reasoning, shown apart from the answer."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """A whole tool call: the tool's name and its arguments as JSON text."""

    name: str
    arguments: str
    id: str = ""

    def input(self) -> Any:
        """The arguments as a JSON value (an empty object when they are not JSON)."""
        try:
            return json.loads(self.arguments)
        except ValueError:
            return {}


Piece = Text | Thinking | ToolCall


class RequestFailed(Exception):
    """The server refused a request (an HTTP error status) or could not be reached."""


class AnswerFailed(Exception):
    """The answer began and then failed (an ERROR event or the API's error frame)."""


class Conversation(Protocol):
    """One conversation with a server; questions are asked one after another."""

    def ask(self, question: str) -> AsyncIterator[Piece]:
        """The answer's pieces as they stream; raises :class:`AnswerFailed` on failure."""
        ...

    def send_tool_results(self, results: Sequence[tuple[ToolCall, str]]) -> AsyncIterator[Piece]:
        """Answer the last answer's tool calls; the pieces of the answer that follows."""
        ...


def error_message(response: httpx.Response) -> str:
    """A one-line reason from an error response in any of the server's error shapes."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text.strip()[:200]}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # OpenAI and Anthropic
        return f"HTTP {response.status_code}: {error.get('message', error)}"
    if isinstance(body, dict) and "message" in body:  # the chat page's {"error", "message"}
        return f"HTTP {response.status_code} {body.get('error')}: {body['message']}"
    return f"HTTP {response.status_code}: {body}"


async def _check(response: httpx.Response) -> None:
    if response.status_code >= 400:
        await response.aread()
        raise RequestFailed(error_message(response))


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """The events of a streaming response, as they arrive."""
    parser = SseParser()
    async for chunk in response.aiter_raw():
        for event in parser.feed(chunk):
            yield event


class QaConversation:
    """The chat page's protocol: one open ``/qa/connect`` stream, questions to ``/qa/ask``."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, user: str) -> None:
        self._client = client
        self._base = base_url.rstrip("/")
        self._user = user
        self._response: httpx.Response | None = None
        self._events: AsyncIterator[SseEvent] | None = None

    async def __aenter__(self) -> QaConversation:
        request = self._client.build_request("GET", f"{self._base}/qa/connect/{self._user}")
        self._response = await self._client.send(request, stream=True)
        await _check(self._response)
        self._events = sse_events(self._response)
        event = await self._next_event()
        if event.event != "CONNECTED":
            raise RequestFailed(f"expected CONNECTED first, got {event.event}: {event.data}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._response is not None:
            await self._response.aclose()

    async def _next_event(self) -> SseEvent:
        assert self._events is not None, "use the conversation in `async with`"
        try:
            return await anext(self._events)
        except StopAsyncIteration:
            raise AnswerFailed("the server ended the stream before the answer did") from None

    async def ask(self, question: str) -> AsyncIterator[Piece]:
        response = await self._client.post(
            f"{self._base}/qa/ask/{self._user}", json={"question": question}
        )
        await _check(response)
        while True:
            event = await self._next_event()
            if event.event == "ANSWER_CHUNK":
                yield Text(event.data)
            elif event.event == "ANSWER_END":
                return
            elif event.event in ("ERROR", "ANSWER_CANCELLED", "SERVER_SHUTDOWN"):
                raise AnswerFailed(event.data)

    async def send_tool_results(
        self, results: Sequence[tuple[ToolCall, str]]
    ) -> AsyncIterator[Piece]:
        """The chat page's protocol carries no tool calls, so there is nothing to answer."""
        return
        yield  # an async generator that yields nothing


async def first_model(client: httpx.AsyncClient, base_url: str) -> str:
    """The first model the server lists, for a caller that named none."""
    try:
        response = await client.get(f"{base_url.rstrip('/')}/v1/models")
        return str(response.json()["data"][0]["id"])
    except (httpx.HTTPError, ValueError, LookupError, TypeError):
        return DEFAULT_MODEL


class OpenAIChunks:
    """OpenAI Chat Completions chunks (``data:`` JSON) as pieces; tool calls once whole."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}
        self.done = False

    def read(self, event: SseEvent) -> list[Piece]:
        """The pieces in one event; raises :class:`AnswerFailed` on an error frame."""
        if event.data == "[DONE]":
            self.done = True
            return self.finish()
        chunk = json.loads(event.data)
        if "error" in chunk:
            raise AnswerFailed(str(chunk["error"].get("message", chunk["error"])))
        pieces: list[Piece] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                pieces.append(Thinking(reasoning))
            if delta.get("content"):
                pieces.append(Text(delta["content"]))
            for fragment in delta.get("tool_calls") or ():
                call = self._calls.setdefault(fragment.get("index", 0), {})
                function = fragment.get("function") or {}
                for key, value in (
                    ("id", fragment.get("id")),
                    ("name", function.get("name")),
                    ("arguments", function.get("arguments")),
                ):
                    call[key] = call.get(key, "") + (value or "")
            if choice.get("finish_reason"):
                pieces.extend(self.finish())
        return pieces

    def finish(self) -> list[Piece]:
        """The tool calls still being assembled, now whole."""
        calls = [
            ToolCall(call.get("name", ""), call.get("arguments") or "{}", call.get("id", ""))
            for _index, call in sorted(self._calls.items())
        ]
        self._calls.clear()
        return list(calls)


class AnthropicEvents:
    """Anthropic Messages events as pieces; a ``tool_use`` block once it stops."""

    def __init__(self) -> None:
        self._blocks: dict[int, dict[str, Any]] = {}
        self.done = False

    def read(self, event: SseEvent) -> list[Piece]:
        """The pieces in one event; raises :class:`AnswerFailed` on an ``error`` event."""
        body = json.loads(event.data)
        kind = body.get("type", event.event)
        if kind == "error":
            error = body.get("error") or {}
            raise AnswerFailed(str(error.get("message", error)))
        if kind == "content_block_start":
            self._blocks[body["index"]] = {**body["content_block"], "partial_json": ""}
        elif kind == "content_block_delta":
            delta = body["delta"]
            if delta.get("type") == "text_delta":
                return [Text(delta["text"])]
            if delta.get("type") == "thinking_delta":
                return [Thinking(delta["thinking"])]
            if delta.get("type") == "input_json_delta":
                self._blocks[body["index"]]["partial_json"] += delta["partial_json"]
        elif kind == "content_block_stop":
            block = self._blocks.pop(body["index"], {})
            if block.get("type") == "tool_use":
                arguments = block["partial_json"] or json.dumps(block.get("input") or {})
                return [ToolCall(block.get("name", ""), arguments, block.get("id", ""))]
        elif kind == "message_stop":
            self.done = True
        return []


StreamReader = OpenAIChunks | AnthropicEvents


class _ApiConversation:
    """What the OpenAI and Anthropic conversations share: the history, the tools offered,
    the request; each subclass says how its API spells messages, tools and tool results."""

    path = ""

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        model: str,
        api_key: str,
        tools: Sequence[str] = (),
    ) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + self.path
        self._model = model
        self._api_key = api_key
        self._tools = tuple(tools)
        self._messages: list[dict[str, Any]] = []

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _tool(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self._model, "messages": self._messages, "stream": True}
        if self._tools:
            body["tools"] = [self._tool(name) for name in self._tools]
        return body

    def _reader(self) -> StreamReader:
        raise NotImplementedError

    def _assistant(self, text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
        raise NotImplementedError

    def _results(self, results: Sequence[tuple[ToolCall, str]]) -> list[dict[str, Any]]:
        raise NotImplementedError

    def ask(self, question: str) -> AsyncIterator[Piece]:
        return self._answer([{"role": "user", "content": question}])

    def send_tool_results(self, results: Sequence[tuple[ToolCall, str]]) -> AsyncIterator[Piece]:
        return self._answer(self._results(results))

    async def _answer(self, messages: list[dict[str, Any]]) -> AsyncIterator[Piece]:
        """Send the history plus ``messages``; keep the answer in the history when one came."""
        kept = len(self._messages)
        self._messages.extend(messages)
        texts: list[str] = []
        calls: list[ToolCall] = []
        request = self._client.build_request(
            "POST", self._url, json=self._body(), headers=self._headers()
        )
        response = await self._client.send(request, stream=True)
        try:
            await _check(response)
            reader = self._reader()
            async for event in sse_events(response):
                for piece in reader.read(event):
                    if isinstance(piece, Text):
                        texts.append(piece.text)
                    elif isinstance(piece, ToolCall):
                        calls.append(piece)
                    yield piece
                if reader.done:
                    break
        finally:
            await response.aclose()
            if texts or calls:
                self._messages.append(self._assistant("".join(texts), calls))
            else:  # nothing came back: forget the question, so the turns keep alternating
                del self._messages[kept:]


class OpenAIConversation(_ApiConversation):
    """OpenAI Chat Completions, streamed."""

    path = "/v1/chat/completions"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def _tool(self, name: str) -> dict[str, Any]:
        return {"type": "function", "function": {"name": name, "parameters": ANY_ARGUMENTS}}

    def _reader(self) -> StreamReader:
        return OpenAIChunks()

    def _assistant(self, text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in calls
            ]
        return message

    def _results(self, results: Sequence[tuple[ToolCall, str]]) -> list[dict[str, Any]]:
        return [
            {"role": "tool", "tool_call_id": call.id, "content": output} for call, output in results
        ]


class AnthropicConversation(_ApiConversation):
    """Anthropic Messages, streamed."""

    path = "/v1/messages"

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self._api_key, "anthropic-version": ANTHROPIC_VERSION}

    def _tool(self, name: str) -> dict[str, Any]:
        return {"name": name, "input_schema": ANY_ARGUMENTS}

    def _body(self) -> dict[str, Any]:
        return {**super()._body(), "max_tokens": MAX_TOKENS}

    def _reader(self) -> StreamReader:
        return AnthropicEvents()

    def _assistant(self, text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content.extend(
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input()}
            for call in calls
        )
        return {"role": "assistant", "content": content}

    def _results(self, results: Sequence[tuple[ToolCall, str]]) -> list[dict[str, Any]]:
        blocks = [
            {"type": "tool_result", "tool_use_id": call.id, "content": output}
            for call, output in results
        ]
        return [{"role": "user", "content": blocks}]

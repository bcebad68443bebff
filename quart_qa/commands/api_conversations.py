"""Conversations with the LLM APIs (OpenAI Chat Completions, Anthropic Messages), streamed.

Each is sent the earlier turns, and the tools it offers by name; the answer's pieces come
back through the API's stream reader.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from .pieces import Piece, Text, ToolCall
from .replies import check_reply, sse_events
from .stream_readers import AnthropicEvents, OpenAIChunks, StreamReader

DEFAULT_MODEL = "quart-qa-1"
DEFAULT_API_KEY = "quart-qa"  # any key does for a server in auth mode "none"
ANTHROPIC_VERSION = "2023-06-01"
MAX_TOKENS = 4096
ANY_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}  # tools offered by name


async def first_model(client: httpx.AsyncClient, base_url: str) -> str:
    """The first model the server lists, for a caller that named none."""
    try:
        response = await client.get(f"{base_url.rstrip('/')}/v1/models")
        return str(response.json()["data"][0]["id"])
    except (httpx.HTTPError, ValueError, LookupError, TypeError):
        return DEFAULT_MODEL


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
            await check_reply(response)
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

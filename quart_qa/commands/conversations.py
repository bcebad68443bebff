"""Asking a running server, in any of its three protocols: the conversation every command
uses, and the chat page's own.

A conversation keeps its history: the chat page's stream stays open between questions, and
the LLM APIs (``api_conversations.py``) are sent the earlier turns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Literal, Protocol

import httpx

from .pieces import AnswerFailed, Piece, RequestFailed, Text, ToolCall
from .replies import check_reply, sse_events
from .sse_frames import SseEvent

Api = Literal["qa", "openai", "anthropic"]
APIS: tuple[Api, ...] = ("qa", "openai", "anthropic")


class Conversation(Protocol):
    """One conversation with a server; questions are asked one after another."""

    def ask(self, question: str) -> AsyncIterator[Piece]:
        """The answer's pieces as they stream; raises :class:`AnswerFailed` on failure."""
        ...

    def send_tool_results(self, results: Sequence[tuple[ToolCall, str]]) -> AsyncIterator[Piece]:
        """Answer the last answer's tool calls; the pieces of the answer that follows."""
        ...


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
        await check_reply(self._response)
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
        await check_reply(response)
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

"""A lean client for streamed LLM answers: OpenAI Chat Completions and Responses, Anthropic
Messages, the AI SDK's UI message stream and AG-UI.

Like :mod:`bench.client`: one ``asyncio.Protocol`` per stream, HTTP/1.1 spoken by hand, one
clock reading per ``data_received``. The connection is opened first (keep-alive, as a load
tester's pool does) and the request is sent later, so connection set-up is not measured. It
records when each content delta arrives and the text they carry, so a run can check the text.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, cast

from .client import HEAD_END, MAX_HEAD_BYTES, ChunkedDecoder, parse_head, split_events

MODEL = "bench"


@dataclass(frozen=True)
class Dialect:
    """One streamed protocol: where to post, what to send, and how its stream marks text and
    the end."""

    name: str
    path: str

    def document(self, question: str, stream: bool = True) -> dict[str, Any]:
        """The request body for ``question``, as each protocol's clients send it."""
        if self.name == "ai_sdk":  # useChat's DefaultChatTransport (no model: the server's)
            parts = [{"type": "text", "text": question}]
            message = {"id": "u1", "role": "user", "parts": parts}
            return {"id": "bench", "messages": [message], "trigger": "submit-message"}
        if self.name == "agui":  # AG-UI's RunAgentInput, as its HttpAgent sends it
            message = {"id": "u1", "role": "user", "content": question}
            return {
                **{"threadId": "bench", "runId": "run", "state": {}, "messages": [message]},
                **{"tools": [], "context": [], "forwardedProps": {}},
            }
        document: dict[str, Any] = {"model": MODEL, "stream": stream}
        if self.name == "responses":
            document["input"] = question
        else:
            document["messages"] = [{"role": "user", "content": question}]
        if self.name == "anthropic":
            document["max_tokens"] = 4096
        return document

    def body(self, question: str, stream: bool = True) -> bytes:
        """The request body for ``question``, encoded."""
        return json.dumps(self.document(question, stream)).encode()

    def request(self, host: str, port: int, question: str) -> bytes:
        """The whole HTTP request (keep-alive)."""
        body = self.body(question)
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nAuthorization: Bearer bench\r\n"
            "x-api-key: bench\r\nanthropic-version: 2023-06-01\r\n"
            f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body


OPENAI = Dialect("openai", "/v1/chat/completions")
ANTHROPIC = Dialect("anthropic", "/v1/messages")
RESPONSES = Dialect("responses", "/v1/responses")
AI_SDK = Dialect("ai_sdk", "/api/chat")
AGUI = Dialect("agui", "/agui")
DIALECTS = {dialect.name: dialect for dialect in (OPENAI, ANTHROPIC, RESPONSES, AI_SDK, AGUI)}

# Per protocol whose events carry their kind in the JSON's "type": the kind of a text delta
# (its text in "delta"), of the end of a good stream, and of a failure.
TYPED_TEXT = {
    RESPONSES.name: "response.output_text.delta",
    AI_SDK.name: "text-delta",
    AGUI.name: "TEXT_MESSAGE_CONTENT",
}
TYPED_END = {RESPONSES.name: "response.completed", AGUI.name: "RUN_FINISHED"}
TYPED_FAILURE = {
    RESPONSES.name: ("error", "response.failed", "response.incomplete"),
    AI_SDK.name: ("error",),
    AGUI.name: ("RUN_ERROR",),
}


def _field(block: bytes, name: bytes) -> bytes:
    """The value of the first ``name:`` line of an SSE event block (b"" when absent)."""
    for line in block.split(b"\n"):
        if line.startswith(name):
            return line[len(name) :].strip()
    return b""


class CompletionStream(asyncio.Protocol):
    """One streamed completion on its own connection.

    ``ended`` resolves True when the stream's end marker arrives (``[DONE]``,
    ``message_stop``, ``response.completed``, ``RUN_FINISHED``) and False on an error event, a
    bad response or a close before it.
    """

    def __init__(self, dialect: Dialect, loop: asyncio.AbstractEventLoop) -> None:
        self.dialect = dialect
        self.connected: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[bool] = loop.create_future()
        self.sent_at = float("nan")
        self.chunk_times: list[float] = []
        self.pieces: list[str] = []
        self.status = 0
        self.error = ""
        self._transport: asyncio.Transport | None = None
        self._head = b""
        self._body_started = False
        self._decoder: ChunkedDecoder | None = None
        self._sse = b""

    @property
    def text(self) -> str:
        """The text of every content delta received so far."""
        return "".join(self.pieces)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        if not self.connected.done():
            self.connected.set_result(None)

    def send(self, request: bytes) -> None:
        """Send the request now and note the time."""
        assert self._transport is not None
        self.sent_at = time.perf_counter()
        self._transport.write(request)

    def close(self) -> None:
        """Hang up."""
        if self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end(False, "connection closed" if exc is None else f"connection lost: {exc}")
        if not self.connected.done():
            self.connected.set_exception(ConnectionError("closed before connecting"))

    def _end(self, ok: bool, error: str = "") -> None:
        if not self.ended.done():
            self.error = error
            self.ended.set_result(ok)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self._body_started:
            data = self._read_head(data)
            if not data:
                return
        if self._decoder is not None:
            data = self._decoder.feed(data)
        blocks, self._sse = split_events(self._sse, data)
        for block in blocks:
            if block and not block.startswith(b":"):
                self._on_event(block, now)

    def _read_head(self, data: bytes) -> bytes:
        head = self._head + data
        end = head.find(HEAD_END)
        if end < 0:
            self._head = head
            if len(head) > MAX_HEAD_BYTES:
                self._end(False, "response head too long")
                self.close()
            return b""
        self._body_started = True
        self.status, headers = parse_head(head[:end])
        content_type = headers.get(b"content-type", b"")
        if self.status != 200 or not content_type.startswith(b"text/event-stream"):
            self._end(False, f"status {self.status} {content_type.decode(errors='replace')}")
            self.close()
            return b""
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self._decoder = ChunkedDecoder()
        return head[end + len(HEAD_END) :]

    def _on_event(self, block: bytes, now: float) -> None:
        data = _field(block, b"data:")
        name = self.dialect.name
        if data == b"[DONE]" and name in (OPENAI.name, AI_SDK.name):
            self._end(True)
            return
        if name == OPENAI.name:
            document = json.loads(data)
            if "error" in document:
                self._end(False, f"error event: {data[:200]!r}")
                return
            choices = document.get("choices") or ()
            text = choices[0].get("delta", {}).get("content") if choices else None
        elif name == ANTHROPIC.name:
            event = _field(block, b"event:")
            if event == b"message_stop":
                self._end(True)
                return
            if event == b"error":
                self._end(False, f"error event: {data[:200]!r}")
                return
            if event != b"content_block_delta":
                return
            text = json.loads(data).get("delta", {}).get("text")
        else:
            document = json.loads(data)
            kind = document.get("type")
            if kind == TYPED_END.get(name):
                self._end(True)
                return
            if kind in TYPED_FAILURE[name]:
                self._end(False, f"error event: {data[:200]!r}")
                return
            text = document.get("delta") if kind == TYPED_TEXT[name] else None
        if text:
            self.chunk_times.append(now)
            self.pieces.append(text)


async def open_completion(host: str, port: int, dialect: Dialect) -> CompletionStream:
    """Open a connection for one completion; send it later with :meth:`CompletionStream.send`."""
    loop = asyncio.get_running_loop()
    stream = CompletionStream(dialect, loop)
    try:
        await loop.create_connection(lambda: stream, host, port)
        await stream.connected
    except BaseException:
        stream.close()
        raise
    return stream


async def complete_once(host: str, port: int, dialect: Dialect, question: str) -> CompletionStream:
    """One whole streamed completion (wrap in ``asyncio.timeout``); used to warm a server up."""
    stream = await open_completion(host, port, dialect)
    try:
        stream.send(dialect.request(host, port, question))
        await stream.ended
    finally:
        stream.close()
    return stream

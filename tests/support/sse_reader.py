"""Read Server-Sent Events from a Quart test connection with an independent parser (httpx-sse)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from quart.typing import TestClientProtocol as Client
from quart.typing import TestHTTPConnectionProtocol as HTTPConnection

READ_TIMEOUT = 5.0
TERMINAL_EVENTS = ("ANSWER_END", "ERROR", "ANSWER_CANCELLED")


class EventStream:
    """Events parsed from one streaming response; every read is under a timeout."""

    def __init__(self, connection: HTTPConnection) -> None:
        self.connection = connection
        self._lines = SSELineDecoder()
        self._decoder = SSEDecoder()
        self._pending: list[ServerSentEvent] = []
        self.comments: list[str] = []
        self.raw = bytearray()
        self.ended = False

    def _feed(self, chunk: bytes) -> None:
        self.raw.extend(chunk)
        for line in self._lines.decode(chunk.decode("utf-8")):
            if line.startswith(":"):
                self.comments.append(line)
            event = self._decoder.decode(line)
            if event is not None:
                self._pending.append(event)

    async def next_event(self, timeout: float = READ_TIMEOUT) -> ServerSentEvent:
        """The next event; raises EOFError when the stream ends first."""
        async with asyncio.timeout(timeout):
            while not self._pending:
                if self.ended:
                    raise EOFError("stream ended")
                chunk = await self.connection.receive()
                if chunk == b"":
                    self.ended = True
                else:
                    self._feed(chunk)
        return self._pending.pop(0)

    async def until(self, *names: str, timeout: float = READ_TIMEOUT) -> list[ServerSentEvent]:
        """Events up to and including the first whose name is in ``names``."""
        events = []
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next_event(timeout)
                events.append(event)
                if event.event in names:
                    return events

    async def answer(self, timeout: float = READ_TIMEOUT) -> list[ServerSentEvent]:
        """The events of one whole answer, up to its terminal event."""
        return await self.until(*TERMINAL_EVENTS, timeout=timeout)

    async def wait_end(self, timeout: float = READ_TIMEOUT) -> list[ServerSentEvent]:
        """Every remaining event until the server ends the stream."""
        events = []
        try:
            while True:
                events.append(await self.next_event(timeout))
        except EOFError:
            return events


def id_order(event_id: str) -> tuple[int, int]:
    """An event id as something that sorts like the stream: ``7`` or ``1700000000000-7``."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def is_event_id(event_id: str) -> bool:
    """An in-memory id (digits) or a Redis stream id (``<ms>-<seq>``)."""
    ms, _, seq = event_id.partition("-")
    return ms.isdigit() and (seq.isdigit() or "-" not in event_id)


@asynccontextmanager
async def open_stream(
    client: Client,
    user_id: str,
    *,
    headers: dict[str, str] | None = None,
    expect_connected: bool = True,
) -> AsyncIterator[EventStream]:
    """Connect as ``user_id``; by default wait for CONNECTED so the subscription is live."""
    async with client.request(f"/qa/connect/{user_id}", headers=headers) as connection:
        await connection.send_complete()
        stream = EventStream(connection)
        try:
            if expect_connected:
                first = await stream.next_event()
                assert first.event == "CONNECTED", first
            yield stream
        finally:
            await connection.disconnect()

"""Read the chat protocol's WebSocket messages from a Quart test connection, under timeouts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from quart.testing.connections import WebsocketDisconnectError
from quart.typing import TestClientProtocol as Client
from quart.typing import TestWebsocketConnectionProtocol as WebsocketConnection

READ_TIMEOUT = 5.0
TERMINAL_EVENTS = ("ANSWER_END", "ERROR", "ANSWER_CANCELLED")

Message = dict[str, Any]


class SocketClosed(Exception):
    """The server closed the socket with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(f"closed with {code}")
        self.code = code


class Socket:
    """One test WebSocket: JSON out, JSON in, the close code when the server ends it."""

    def __init__(self, connection: WebsocketConnection) -> None:
        self.connection = connection

    async def send(self, message: Message | str) -> None:
        await self.connection.send(message if isinstance(message, str) else json.dumps(message))

    async def next(self, timeout: float = READ_TIMEOUT) -> Message:
        """The next message; :class:`SocketClosed` when the server closed the socket."""
        async with asyncio.timeout(timeout):
            try:
                raw = await self.connection.receive()
            except WebsocketDisconnectError as closed:
                raise SocketClosed(int(closed.args[0])) from None
        message: Message = json.loads(raw)
        return message

    async def until(self, *events: str, timeout: float = READ_TIMEOUT) -> list[Message]:
        """Messages up to and including the first event named in ``events``."""
        messages = []
        async with asyncio.timeout(timeout):
            while True:
                message = await self.next(timeout)
                messages.append(message)
                if message.get("event") in events:
                    return messages

    async def answer(self, timeout: float = READ_TIMEOUT) -> list[Message]:
        """The messages up to the end of one answer."""
        return await self.until(*TERMINAL_EVENTS, timeout=timeout)

    async def reply(self, timeout: float = READ_TIMEOUT) -> Message:
        """The next reply (a message with a ``type``), skipping stream events."""
        async with asyncio.timeout(timeout):
            while "type" not in (message := await self.next(timeout)):
                pass
        return message

    async def closed(self, timeout: float = READ_TIMEOUT) -> tuple[list[Message], int]:
        """Every message until the server closes the socket, and its close code."""
        messages = []
        async with asyncio.timeout(timeout):
            while True:
                try:
                    messages.append(await self.next(timeout))
                except SocketClosed as closed:
                    return messages, closed.code


@asynccontextmanager
async def open_socket(
    client: Client,
    user_id: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    expect_connected: bool = True,
) -> AsyncIterator[Socket]:
    """``/qa/ws/<user_id>``; by default wait for CONNECTED so the subscription is live."""
    path = f"/qa/ws/{user_id}" + (f"?{query}" if query else "")
    async with client.websocket(path, headers=headers) as connection:
        socket = Socket(connection)
        if expect_connected:
            first = await socket.next()
            assert first["event"] == "CONNECTED", first
        yield socket

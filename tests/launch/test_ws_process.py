"""``/qa/ws`` on the real server over real sockets, with the ``websockets`` client library."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from quart_qa.settings.config import SEED_ANSWER_PARTS
from tests.support.live_server import ServerProcess, live_server

CONFIG = """
[stream]
chunk_delay = 0.05
heartbeat = 0.2
shutdown_grace = 0.2
history_ttl = 30

[[answers]]
match = "slow"
parts = ["one", "two", "three", "four", "five", "six"]
delay = 0.3

[[answers]]
parts = [{seed}]
"""

Message = dict[str, Any]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    seed = ", ".join(json.dumps(part, ensure_ascii=False) for part in SEED_ANSWER_PARTS)
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.replace("{seed}", seed), encoding="utf-8")
    with live_server(path) as running:
        yield running


class PingCounter(logging.Handler):
    """Counts the pings a ``websockets`` connection logs receiving (its debug log)."""

    def __init__(self, wanted: int) -> None:
        super().__init__()
        self.wanted = wanted
        self.pings = 0
        self.enough = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("< PING"):
            self.pings += 1
            if self.pings >= self.wanted:
                self.enough.set()


async def receive(ws: ClientConnection) -> Message:
    message: Message = json.loads(await ws.recv())
    return message


async def until(ws: ClientConnection, *events: str) -> list[Message]:
    messages = []
    while (message := await receive(ws)).get("event") not in events:
        messages.append(message)
    return [*messages, message]


async def reply(ws: ClientConnection) -> Message:
    while "type" not in (message := await receive(ws)):
        pass
    return message


def keyed(messages: list[Message]) -> list[tuple[str, str, str]]:
    return [(item["id"], item["event"], item["data"]) for item in messages if "event" in item]


@asynccontextmanager
async def sse_tab(
    client: httpx.AsyncClient, user_id: str
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """A user's SSE stream, once its CONNECTED arrived."""
    async with aconnect_sse(client, "GET", f"/qa/connect/{user_id}") as source:
        events = source.aiter_sse()
        assert (await anext(events)).event == "CONNECTED"
        yield events


async def sse_until(
    events: AsyncIterator[ServerSentEvent], *names: str
) -> list[tuple[str, str, str]]:
    seen = []
    async for event in events:
        if event.event == "message":
            continue  # httpx-sse reports each heartbeat comment as an empty message
        seen.append((event.id, event.event, event.data))
        if event.event in names:
            return seen
    raise AssertionError(f"the SSE stream ended early: {seen}")


async def test_websockets_client_asks_cancels_resumes_beside_an_sse_tab(
    server: ServerProcess,
) -> None:
    url = f"ws://127.0.0.1:{server.port}/qa/ws/shared"
    async with (
        asyncio.timeout(20),
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
        sse_tab(client, "shared") as tab,
    ):
        async with connect(url) as ws:
            assert (await receive(ws))["event"] == "CONNECTED"

            await ws.send("{not json")
            error = await receive(ws)
            assert (error["type"], error["error"], error["status"]) == (
                "error",
                "malformed_json",
                400,
            )

            await ws.send(json.dumps({"type": "ask", "question": "什么是SSE"}))
            seed = await until(ws, "ANSWER_END")
            over_sse = await sse_until(tab, "ANSWER_END")
            assert [item["data"] for item in seed if item.get("event") == "ANSWER_CHUNK"] == list(
                SEED_ANSWER_PARTS
            )
            assert keyed(seed) == over_sse  # the same ids, names and data as the SSE tab

            await ws.send(json.dumps({"type": "ask", "question": "slow, please"}))
            await until(ws, "ANSWER_CHUNK")
            await ws.send(json.dumps({"type": "cancel"}))
            cancelled = await until(ws, "ANSWER_CANCELLED")
            assert [item["type"] for item in cancelled if "type" in item] == ["cancelled"]
            assert keyed(cancelled)[-1] == (await sse_until(tab, "ANSWER_CANCELLED"))[-1]

            await ws.send(json.dumps({"type": "ask", "question": "slow again"}))
            before_drop = await until(ws, "ANSWER_CHUNK")
        last_id = keyed(before_drop)[-1][0]  # the socket dropped mid-answer
        async with connect(f"{url}?last_event_id={last_id}") as again:
            assert (await receive(again))["id"] == last_id
            after_drop = await until(again, "ANSWER_END")
            assert keyed(before_drop + after_drop) == await sse_until(tab, "ANSWER_END")

            stopping = asyncio.create_task(asyncio.to_thread(server.stop))
            goodbye = await receive(again)
            with pytest.raises(ConnectionClosed) as closed:
                await again.recv()
            assert await stopping == 0
    assert goodbye["event"] == "SERVER_SHUTDOWN"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001


async def test_heartbeats_are_websocket_pings(server: ServerProcess) -> None:
    counter = PingCounter(wanted=3)
    logger = logging.getLogger(f"{__name__}.pings")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(counter)
    try:
        url = f"ws://127.0.0.1:{server.port}/qa/ws/idle"
        async with asyncio.timeout(10), connect(url, logger=logger) as ws:
            assert (await receive(ws))["event"] == "CONNECTED"
            await counter.enough.wait()  # heartbeat = 0.2 s
    finally:
        logger.removeHandler(counter)
    assert counter.pings >= 3


SLOW_CONFIG = """
[stream]
chunk_delay = 0.001
queue_size = 16
heartbeat = 0
history = 200

[[answers]]
parts = [{parts}]
"""

STALLED_PARTS = 300  # 300 x 20 kB: far more than the socket buffers and the queue hold


def open_stalled_socket(port: int, user_id: str) -> socket.socket:
    """A WebSocket client that reads its CONNECTED message and then nothing more."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET /qa/ws/{user_id} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(handshake.encode())
    received = b""
    sock.settimeout(5)
    while b"CONNECTED" not in received:
        received += sock.recv(4096)
    return sock


async def test_a_socket_that_stops_reading_is_cut_and_others_get_everything(
    tmp_path: Path,
) -> None:
    parts = ", ".join(f'"{index:05d}{"x" * 20_000}"' for index in range(STALLED_PARTS))
    path = tmp_path / "config.toml"
    path.write_text(SLOW_CONFIG.replace("{parts}", parts), encoding="utf-8")
    with live_server(path) as server:
        stalled = await asyncio.to_thread(open_stalled_socket, server.port, "shared")
        try:
            async with (
                asyncio.timeout(30),
                httpx.AsyncClient(base_url=server.url, timeout=10) as client,
                connect(f"ws://127.0.0.1:{server.port}/qa/ws/shared", max_size=None) as ws,
            ):
                assert (await receive(ws))["event"] == "CONNECTED"
                await ws.send(json.dumps({"type": "ask", "question": "big"}))
                answer = await until(ws, "ANSWER_END")
                metrics = (await client.get("/metrics")).text
        finally:
            stalled.close()
    chunks = [item["data"][:5] for item in answer if item.get("event") == "ANSWER_CHUNK"]
    assert chunks == [f"{index:05d}" for index in range(STALLED_PARTS)]
    assert 'qa_connections_closed_total{reason="slow_consumer"} 1.0' in metrics

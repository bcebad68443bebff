"""A real nginx (Debian's) with the shipped deploy/nginx.conf in front of quart-qa.

nginx's read timeout is scaled down with the heartbeat so that an idle stream outlives it
within seconds: 1.5 s against a heartbeat of 0.25 s (shipped: 60 s against 15 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse
from websockets.asyncio.client import connect as websocket

from tests.support.apps import required_program
from tests.support.live_server import QaServer
from tests.support.nginx import Nginx, nginx_in_front, nginx_program
from tests.support.openai_h2 import stream_chat_completion
from tests.support.tls import TlsFiles

pytestmark = pytest.mark.timeout(60)

READ_TIMEOUT = 1.5  # nginx's proxy_read_timeout here, seconds
HEARTBEAT = 0.25
IDLE = 2.5 * READ_TIMEOUT  # how long a stream is left without events
STREAM_TIMEOUT = 15.0  # every stream's guard
CHUNK_DELAY = 0.1
LONG = " ".join(f"word{index}" for index in range(30))  # 30 chunks, 3 s
MEDIUM = " ".join(f"piece{index}" for index in range(12))
CONFIG = f"""
[stream]
chunk_delay = {CHUNK_DELAY}
heartbeat = {HEARTBEAT}

[[answers]]
match = "long"
text = "{LONG}"
chunk_by = "word"

[[answers]]
text = "{MEDIUM}"
chunk_by = "word"
"""


@pytest.fixture(scope="module")
def nginx() -> str:
    """nginx; missing is a skip on a laptop and a failure in CI."""
    return required_program(nginx_program(), "nginx")


@contextlib.contextmanager
def behind_nginx(nginx: str, tls_files: TlsFiles, folder: Path, config: str) -> Iterator[Nginx]:
    """quart-qa with ``config``, and nginx in front of it."""
    (folder / "qa.toml").write_text(config, encoding="utf-8")
    with (
        QaServer(folder / "qa.toml", folder) as server,
        nginx_in_front(
            nginx, server.port, tls_files, folder / "nginx", f"{round(READ_TIMEOUT * 1000)}ms"
        ) as proxy,
    ):
        yield proxy


@pytest.fixture(scope="module")
def proxy(
    nginx: str, tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nginx]:
    """nginx in front of quart-qa with heartbeats."""
    with behind_nginx(nginx, tls_files, tmp_path_factory.mktemp("nginx"), CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def quiet_proxy(
    nginx: str, tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nginx]:
    """The same without heartbeats, to show what nginx's read timeout does then."""
    quiet = CONFIG.replace(f"heartbeat = {HEARTBEAT}", "heartbeat = 0")
    with behind_nginx(nginx, tls_files, tmp_path_factory.mktemp("nginx-quiet"), quiet) as running:
        yield running


def through(proxy: Nginx, tls_files: TlsFiles) -> httpx.AsyncClient:
    """An HTTP/2 client of nginx that trusts the test CA."""
    return httpx.AsyncClient(
        base_url=proxy.url, http2=True, verify=tls_files.client_context(), timeout=10
    )


async def test_the_first_chunk_arrives_while_the_answer_is_being_written(
    proxy: Nginx, tls_files: TlsFiles
) -> None:
    user = "nginx_first"
    names: list[str] = []
    async with (
        through(proxy, tls_files) as http,
        asyncio.timeout(STREAM_TIMEOUT),
        aconnect_sse(http, "GET", f"/qa/connect/{user}") as source,
    ):
        assert source.response.http_version == "HTTP/2"
        async for event in source.aiter_sse():
            names.append(event.event)
            if event.event == "CONNECTED":
                asked = await http.post(f"/qa/ask/{user}", json={"question": "a long one"})
                assert asked.status_code == 202
            elif event.event == "ANSWER_CHUNK" and names.count("ANSWER_CHUNK") == 1:
                # Had nginx held the stream back, the answer would be over by now: no cancel.
                cancelled = await http.post(f"/qa/cancel/{user}")
                assert cancelled.status_code == 200
            elif event.event in {"ANSWER_END", "ANSWER_CANCELLED"}:
                break
    assert names[-1] == "ANSWER_CANCELLED"
    assert names.count("ANSWER_CHUNK") < len(LONG.split())


async def test_an_llm_answer_streams_through_nginx(proxy: Nginx, tls_files: TlsFiles) -> None:
    async with asyncio.timeout(STREAM_TIMEOUT):
        streamed = await stream_chat_completion(f"{proxy.url}/v1", tls_files, "a long one")
    assert streamed.protocols == ["HTTP/2"]
    assert streamed.text == LONG
    # Paced over about 3 s: unbuffered, the first piece arrives long before the last.
    assert streamed.arrivals[-1] - streamed.arrivals[0] > len(LONG.split()) * CHUNK_DELAY / 3


async def idle_then_ask(proxy: Nginx, tls_files: TlsFiles) -> tuple[list[str], list[str]]:
    """Hold a stream idle for IDLE seconds, then ask: what arrived while idle, and after."""
    user = "nginx_idle"
    idle: list[str] = []
    after: list[str] = []
    async with (
        through(proxy, tls_files) as http,
        http.stream("GET", f"/qa/connect/{user}") as response,
    ):
        lines = response.aiter_lines()
        assert await anext(lines) == "event: CONNECTED"
        started = time.monotonic()
        while time.monotonic() - started < IDLE:
            idle.append(await anext(lines))
        asked = await http.post(f"/qa/ask/{user}", json={"question": "still there?"})
        assert asked.status_code == 202
        async for line in lines:
            after.append(line)
            if line == "event: ANSWER_END":
                break
    return idle, after


async def until_cut(proxy: Nginx, tls_files: TlsFiles) -> tuple[float, list[str]]:
    """Hold a stream until it ends: how long that took, and what arrived."""
    lines: list[str] = []
    started = time.monotonic()
    async with through(proxy, tls_files) as http:
        with contextlib.suppress(httpx.RemoteProtocolError):  # nginx resets the HTTP/2 stream
            async with http.stream("GET", "/qa/connect/nginx_quiet") as response:
                lines.extend([line async for line in response.aiter_lines()])
    return time.monotonic() - started, lines


async def test_heartbeats_keep_an_idle_stream_open_past_the_read_timeout(
    proxy: Nginx, quiet_proxy: Nginx, tls_files: TlsFiles
) -> None:
    async with asyncio.timeout(STREAM_TIMEOUT):
        (idle, after), (quiet_lifetime, quiet_lines) = await asyncio.gather(
            idle_then_ask(proxy, tls_files), until_cut(quiet_proxy, tls_files)
        )
    heartbeats = [line for line in idle if line.startswith(":")]
    assert len(heartbeats) >= IDLE / HEARTBEAT / 2
    assert not [line for line in idle if line.startswith("event:")]
    assert after[-1] == "event: ANSWER_END"  # the same stream, still carrying answers
    # Without heartbeats nginx cuts the same stream at its read timeout.
    assert quiet_lifetime >= READ_TIMEOUT * 0.9
    assert not [line for line in quiet_lines if line.startswith(":")]
    assert "upstream timed out" in (quiet_proxy.error_log.read_text())


async def test_a_resume_through_nginx_with_last_event_id_loses_nothing(
    proxy: Nginx, tls_files: TlsFiles
) -> None:
    user = "nginx_resume"
    first: list[ServerSentEvent] = []
    second: list[ServerSentEvent] = []
    async with through(proxy, tls_files) as http, asyncio.timeout(STREAM_TIMEOUT):
        async with aconnect_sse(http, "GET", f"/qa/connect/{user}") as source:
            async for event in source.aiter_sse():
                first.append(event)
                if event.event == "CONNECTED":
                    asked = await http.post(f"/qa/ask/{user}", json={"question": "go on"})
                    assert asked.status_code == 202
                if [seen.event for seen in first].count("ANSWER_CHUNK") == 3:
                    break  # the stream drops mid-answer
        resume_from = first[-1].id
        headers = {"Last-Event-ID": resume_from}
        async with aconnect_sse(http, "GET", f"/qa/connect/{user}", headers=headers) as source:
            async for event in source.aiter_sse():
                second.append(event)
                if event.event == "ANSWER_END":
                    break
    assert second[0].event == "CONNECTED"
    assert second[0].id == resume_from  # the server saw Last-Event-ID through nginx
    # httpx-sse turns a heartbeat (a comment line) into an empty "message" event: not ours.
    resumed = [event for event in first[1:] + second[1:] if event.event != "message"]
    assert "EVENTS_MISSED" not in [event.event for event in resumed]
    ids = [int(event.id) for event in resumed]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # nothing lost, nothing twice
    chunks = [event.data for event in resumed if event.event == "ANSWER_CHUNK"]
    assert "".join(chunks) == MEDIUM


async def test_the_websocket_stream_upgrades_through_nginx(
    proxy: Nginx, tls_files: TlsFiles
) -> None:
    url = f"wss://127.0.0.1:{proxy.port}/qa/ws/nginx_socket"
    async with (
        asyncio.timeout(STREAM_TIMEOUT),
        websocket(url, ssl=tls_files.client_context()) as socket,
    ):
        assert json.loads(await socket.recv())["event"] == "CONNECTED"
        await socket.send(json.dumps({"type": "ask", "question": "over a socket"}))
        chunks = []
        while (message := json.loads(await socket.recv())).get("event") != "ANSWER_END":
            if message.get("event") == "ANSWER_CHUNK":
                chunks.append(message["data"])
    assert "".join(chunks) == MEDIUM

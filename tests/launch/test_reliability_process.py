"""Reliability of the real server process: graceful shutdown, slow consumers, resume."""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.support.api_streams import read_openai_stream
from tests.support.live_server import ServerProcess, live_server


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


SHUTDOWN_CONFIG = """
[stream]
chunk_delay = 0.1
heartbeat = 0.5
shutdown_grace = 0.5

[[answers]]
match = "short"
parts = ["one", "two"]

[[answers]]
parts = [{parts}]
"""


@pytest.fixture
def shutdown_server(tmp_path: Path) -> Iterator[ServerProcess]:
    parts = ", ".join(f'"p{index}"' for index in range(100))
    config = write_config(tmp_path, SHUTDOWN_CONFIG.replace("{parts}", parts))
    with live_server(config) as server:
        yield server


async def read_events(
    client: httpx.AsyncClient, user_id: str, ready: asyncio.Event, question: str | None
) -> list[tuple[str, str]]:
    events: list[tuple[str, str]] = []
    async with aconnect_sse(client, "GET", f"/qa/connect/{user_id}") as source:
        async for event in source.aiter_sse():
            events.append((event.event, event.data))
            if event.event == "CONNECTED" and question is not None:
                response = await client.post(f"/qa/ask/{user_id}", json={"question": question})
                assert response.status_code == 202
            if event.event == ("ANSWER_CHUNK" if question else "CONNECTED"):
                ready.set()
    return events


@pytest.mark.parametrize(
    ("question", "answer_ends_with"),
    [("long answer", "ERROR"), ("short answer", "ANSWER_END")],
)
async def test_sigterm_says_goodbye_and_exits_in_time(
    shutdown_server: ServerProcess, question: str, answer_ends_with: str
) -> None:
    async with httpx.AsyncClient(base_url=shutdown_server.url, timeout=10) as client:
        asking_ready, idle_ready = asyncio.Event(), asyncio.Event()
        async with asyncio.timeout(15):
            asking = asyncio.create_task(read_events(client, "asker", asking_ready, question))
            idle = asyncio.create_task(read_events(client, "idle", idle_ready, None))
            await asking_ready.wait()
            await idle_ready.wait()
            started = time.monotonic()
            code = await asyncio.to_thread(shutdown_server.stop)
            elapsed = time.monotonic() - started
            asker_events, idle_events = await asking, await idle
    assert code == 0
    assert elapsed < 0.5 + 3.0  # shutdown_grace + Hypercorn's graceful_timeout
    names = [name for name, _ in asker_events]
    assert names[-1] == "SERVER_SHUTDOWN"
    assert names[-2] == answer_ends_with
    assert idle_events[-1][0] == "SERVER_SHUTDOWN"
    assert idle_events[-1][1]


SLOW_CONFIG = """
[stream]
chunk_delay = 0.001
queue_size = 64
heartbeat = 0
history = 200

[limits]
max_question_chars = 100

[[answers]]
parts = [{parts}]
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_stalled_reader(port: int, user_id: str) -> socket.socket:
    """A client that sends the request and then never reads."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = f"GET /qa/connect/{user_id} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"
    sock.sendall(request.encode())
    return sock


async def chunk_gaps(client: httpx.AsyncClient, user_id: str) -> list[float]:
    """Ask as ``user_id`` once connected; the time between each two chunks as they arrive."""
    gaps: list[float] = []
    last = None
    async with aconnect_sse(client, "GET", f"/qa/connect/{user_id}") as source:
        async for event in source.aiter_sse():
            if event.event == "CONNECTED":
                ask = await client.post(f"/qa/ask/{user_id}", json={"question": "big"})
                assert ask.status_code == 202
            elif event.event == "ANSWER_CHUNK":
                now = time.monotonic()
                if last is not None:
                    gaps.append(now - last)
                last = now
            elif event.event == "ANSWER_END":
                break
    return gaps


def p99(gaps: list[float]) -> float:
    return statistics.quantiles(gaps, n=100)[98]


async def test_slow_consumer_is_dropped_memory_bounded_others_on_time(tmp_path: Path) -> None:
    chunk = "x" * 4000
    parts = ", ".join(f'"{index:05d}{chunk}"' for index in range(3000))
    config = write_config(tmp_path, SLOW_CONFIG.replace("{parts}", parts))
    with live_server(config) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            stalled = [open_stalled_reader(server.port, "shared") for _ in range(3)]
            try:
                async with asyncio.timeout(30):
                    # the stalled readers send no events to wait on: ask the server
                    while (await client.get("/healthz")).json()["connections"] < 3:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    before = rss_kib(server.process.pid)
                    # A reader beside the stalled ones, and at the same moment on the same
                    # machine a reader of a user with no stalled reader: the yardstick.
                    gaps, yardstick = await asyncio.gather(
                        chunk_gaps(client, "shared"), chunk_gaps(client, "alone")
                    )
                    after = rss_kib(server.process.pid)
                    metrics = (await client.get("/metrics")).text
            finally:
                for sock in stalled:
                    sock.close()
    assert len(gaps) == len(yardstick) == 2999
    assert 'qa_connections_closed_total{reason="slow_consumer"} 3.0' in metrics
    # 3 stalled readers x 12 MB would be held if queues were unbounded.
    assert after - before < 15_000, (before, after)
    # On time: the stalled readers hold the reader beside them up no more than the load of
    # the machine holds up the yardstick (a wait on their full queues would show), and the
    # longest gap is the yardstick's give or take, and under a second.
    assert p99(gaps) < max(0.05, 3 * p99(yardstick)), (p99(gaps), p99(yardstick))
    assert max(gaps) < min(1.0, max(yardstick) + 0.3), (max(gaps), max(yardstick))


STALLED_CONFIG = """
[stream]
chunk_delay = 0.01
heartbeat = 0
shutdown_grace = 0.5

[[answers]]
match = "slow"
parts = ["Slow", " and", " steady"]
delay = 30

[[answers]]
parts = [{parts}]
"""


async def test_sigterm_cuts_a_reader_that_stopped_and_says_goodbye_to_api_streams(
    tmp_path: Path,
) -> None:
    """A client that stops reading mid-answer cannot hold up the exit; an OpenAI stream
    gets its own error frame and [DONE]; the log has no traceback."""
    parts = ", ".join(f'"{index:03d}{"x" * 200_000}"' for index in range(40))
    config = write_config(tmp_path, STALLED_CONFIG.replace("{parts}", parts))
    with live_server(config) as server:
        stalled = open_stalled_reader(server.port, "stalled")
        try:
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                async with asyncio.timeout(30):
                    while (await client.get("/healthz")).json()["connections"] < 1:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    ask = await client.post("/qa/ask/stalled", json={"question": "big"})
                    assert ask.status_code == 202
                    # 8 MB for a reader that takes none: the server is left writing to it
                    while (await client.get("/healthz")).json()["running_answers"]:  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                    api_ready, idle_ready = asyncio.Event(), asyncio.Event()
                    api = asyncio.create_task(read_openai_stream(client, "slow", api_ready))
                    idle = asyncio.create_task(read_events(client, "idle", idle_ready, None))
                    await api_ready.wait()
                    await idle_ready.wait()
                    started = time.monotonic()
                    code = await asyncio.to_thread(server.stop)
                    elapsed = time.monotonic() - started
                    payloads, idle_events = await api, await idle
        finally:
            stalled.close()
        output = server.output()
    assert code == 0
    assert elapsed < 0.5 + 3.0, output  # shutdown_grace + the documented margin
    assert payloads[-1] == "[DONE]"
    assert '"code":"server_shutdown"' in payloads[-2]
    assert idle_events[-1][0] == "SERVER_SHUTDOWN"
    assert "1 API stream(s) running" in output
    assert "cut 1 connection(s)" in output
    assert "Traceback" not in output
    assert "CancelledError" not in output

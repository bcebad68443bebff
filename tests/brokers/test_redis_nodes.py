"""Several real ``quart-qa serve`` processes sharing one real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from tests.support.api_streams import read_openai_stream
from tests.support.live_server import (
    ROOT,
    ServerProcess,
    exited,
    free_port,
    live_server,
    spawn,
)
from tests.support.redis_server import RedisServer

READ_TIMEOUT = 10.0
WORKERS_START_TIMEOUT = 60.0
TERMINAL = ("ANSWER_END", "ERROR", "ANSWER_CANCELLED")

CONFIG = """
[stream]
chunk_delay = {chunk_delay}
heartbeat = 0.2
resume_grace = 30
history_ttl = 60

[broker]
backend = "redis"
url = "{url}"
prefix = "{prefix}"
lease_ttl = 1.0
node_ttl = 1.0
{extra}
[[answers]]
match = "long"
parts = [{long_parts}]

[[answers]]
parts = ["one ", "two ", "three ", "four ", "five"]
"""


def write_config(
    tmp_path: Path, redis: RedisServer, chunk_delay: float = 0.02, extra: str = ""
) -> Path:
    path = tmp_path / f"redis-{uuid.uuid4().hex[:6]}.toml"
    parts = ", ".join(f'"p{index} "' for index in range(60))
    path.write_text(
        CONFIG.format(
            chunk_delay=chunk_delay,
            url=redis.url,
            prefix=f"n{uuid.uuid4().hex[:10]}",
            long_parts=parts,
            extra=extra,
        ),
        encoding="utf-8",
    )
    return path


class Stream:
    """Events of one SSE connection, read in the background; every read has a timeout."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[ServerSentEvent | None] = asyncio.Queue()

    async def next(self, timeout: float = READ_TIMEOUT) -> ServerSentEvent:
        async with asyncio.timeout(timeout):
            event = await self.events.get()
        if event is None:
            raise EOFError("stream ended")
        return event

    async def until(self, *names: str, timeout: float = READ_TIMEOUT) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        async with asyncio.timeout(timeout):
            while not events or events[-1].event not in names:
                events.append(await self.next(timeout))
        return events


@contextlib.asynccontextmanager
async def open_stream(
    server: ServerProcess, user_id: str, last_event_id: str | None = None
) -> AsyncIterator[Stream]:
    """A stream of ``user_id`` on ``server``, past its CONNECTED event."""
    stream = Stream()
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    ready = asyncio.get_running_loop().create_future()

    async def read() -> None:
        async with (
            httpx.AsyncClient(base_url=server.url, timeout=READ_TIMEOUT) as client,
            aconnect_sse(client, "GET", f"/qa/connect/{user_id}", headers=headers) as source,
        ):
            async for event in source.aiter_sse():
                if event.event == "CONNECTED" and not ready.done():
                    ready.set_result(event)
                elif event.event == "message" and not event.data:
                    continue  # httpx-sse dispatches a heartbeat's blank line: not an event
                else:
                    stream.events.put_nowait(event)
        stream.events.put_nowait(None)

    task = asyncio.create_task(read())
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await task


async def ask(server: ServerProcess, user_id: str, question: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=READ_TIMEOUT) as client:
        return await client.post(f"/qa/ask/{user_id}", json={"question": question})


async def health(server: ServerProcess, timeout: float = READ_TIMEOUT) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=server.url, timeout=timeout) as client:
        body: dict[str, object] = (await client.get("/healthz")).json()
        return body


def keyed(events: list[ServerSentEvent]) -> list[tuple[str, str, str]]:
    return [(event.id, event.event, event.data) for event in events]


@pytest.fixture
def two_nodes(tmp_path: Path, shared_redis: RedisServer) -> Iterator[tuple[ServerProcess, ...]]:
    config = write_config(tmp_path, shared_redis)
    with live_server(config) as node_a, live_server(config) as node_b:
        yield node_a, node_b


@pytest.mark.slow
async def test_question_on_one_node_reaches_streams_on_both(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    node_a, node_b = two_nodes
    async with open_stream(node_a, "u1") as on_a, open_stream(node_b, "u1") as on_b:
        response = await ask(node_b, "u1", "hello")
        assert response.status_code == 202, response.text
        got_a, got_b = await asyncio.gather(on_a.until(*TERMINAL), on_b.until(*TERMINAL))
    assert [event.event for event in got_a] == [
        "ANSWER_START",
        *["ANSWER_CHUNK"] * 5,
        "ANSWER_END",
    ]
    assert keyed(got_a) == keyed(got_b)  # same events, same order, same ids on both nodes
    assert all("-" in event.id for event in got_a)


@pytest.mark.slow
async def test_resume_on_another_node_after_a_drop(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    node_a, node_b = two_nodes
    async with open_stream(node_a, "u2") as reference:
        async with open_stream(node_a, "u2") as first:
            assert (await ask(node_a, "u2", "a long one")).status_code == 202
            seen = await first.until("ANSWER_CHUNK")
            seen += [await first.next() for _ in range(3)]
        async with open_stream(node_b, "u2", last_event_id=seen[-1].id) as second:
            rest = await second.until(*TERMINAL, timeout=20)
        expected = await reference.until(*TERMINAL, timeout=20)
    assert keyed(seen + rest) == keyed(expected)
    assert expected[-1].event == "ANSWER_END"


@pytest.mark.slow
async def test_on_busy_queue_and_cancel_across_nodes(
    tmp_path: Path, shared_redis: RedisServer
) -> None:
    # 0.2 s a chunk: the long answer (12 s) is still running when the cancel arrives, even
    # on a loaded machine; the test waits only for the first chunk and the short "next".
    config = write_config(tmp_path, shared_redis, chunk_delay=0.2)
    with live_server(config) as node_a, live_server(config) as node_b:
        await _queue_and_cancel_across_nodes(node_a, node_b)


async def _queue_and_cancel_across_nodes(node_a: ServerProcess, node_b: ServerProcess) -> None:
    async with open_stream(node_a, "u3") as stream:
        assert (await ask(node_a, "u3", "a long one")).status_code == 202
        assert (await ask(node_b, "u3", "queued")).status_code == 202
        await stream.until("ANSWER_CHUNK")
        async with httpx.AsyncClient(base_url=node_b.url, timeout=READ_TIMEOUT) as client:
            cancelled = await client.post("/qa/cancel/u3")
        assert cancelled.status_code == 200
        assert cancelled.json()["dropped"] == 1
        rest = await stream.until(*TERMINAL)
        assert rest[-1].event == "ANSWER_CANCELLED"
        assert (await ask(node_b, "u3", "next")).status_code == 202
        after = await stream.until(*TERMINAL)
    assert after[0].data.endswith("next")
    assert after[-1].event == "ANSWER_END"


@pytest.mark.slow
async def test_kill_9_of_the_answering_node(tmp_path: Path, shared_redis: RedisServer) -> None:
    config = write_config(tmp_path, shared_redis, chunk_delay=0.2)
    with live_server(config) as node_a, live_server(config) as node_b:
        async with open_stream(node_a, "u4") as stream:
            assert (await ask(node_b, "u4", "a long one")).status_code == 202
            await stream.until("ANSWER_CHUNK")
            node_b.process.send_signal(signal.SIGKILL)
            node_b.process.wait()
            rest = await stream.until(*TERMINAL, timeout=10)
            assert rest[-1].event == "ERROR"
            assert "失联" in rest[-1].data
            assert (await ask(node_a, "u4", "and now?")).status_code == 202
            after = await stream.until(*TERMINAL)
    assert after[-1].event == "ANSWER_END"


@pytest.mark.slow
async def test_dead_node_connections_stop_counting(
    tmp_path: Path, shared_redis: RedisServer
) -> None:
    config = write_config(
        tmp_path, shared_redis, extra="\n[limits]\nmax_connections_per_user = 2\n"
    )
    with live_server(config) as node_a, live_server(config) as node_b:
        async with (
            open_stream(node_b, "u7"),
            open_stream(node_b, "u7"),
            httpx.AsyncClient(base_url=node_a.url, timeout=READ_TIMEOUT) as client,
        ):
            refused = await client.get("/qa/connect/u7")
            assert refused.status_code == 429
            node_b.process.send_signal(signal.SIGKILL)
            node_b.process.wait()
            async with asyncio.timeout(10):  # broker.node_ttl = 1 s, then the place is free
                while (await client.get("/healthz")).json()["status"] != "ok":  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                admitted = False
                while not admitted:
                    async with client.stream("GET", "/qa/connect/u7") as response:
                        admitted = response.status_code == 200
                    if not admitted:
                        await asyncio.sleep(0.1)


async def both_workers_answer(server: ServerProcess) -> None:
    """Return once each of two workers has answered ``/healthz``: each request comes on a new
    connection, so the kernel hands them to both workers once both accept. The second may
    start seconds after the first on a busy machine; the limit is a guard, not a measure."""
    nodes: set[str] = set()
    try:
        async with asyncio.timeout(WORKERS_START_TIMEOUT):
            while len(nodes) < 2:
                with contextlib.suppress(httpx.TransportError):  # nobody accepts yet
                    nodes.add(str((await health(server))["node"]))
    except TimeoutError:
        raise AssertionError(f"answers came from {nodes} only; {server.output()}") from None


def spawn_workers(config: Path, workers: int = 2) -> ServerProcess:
    """``quart-qa serve --workers N`` on a free port."""
    port = free_port()
    args = ["serve", "--workers", str(workers), "--config", str(config)]
    return spawn([*args, "--bind", f"127.0.0.1:{port}"], port=port)


@pytest.mark.slow
async def test_workers_2(tmp_path: Path, shared_redis: RedisServer) -> None:
    config = write_config(tmp_path, shared_redis, chunk_delay=0.1)
    server = spawn_workers(config)
    try:
        await asyncio.to_thread(server.wait_listening)
        await both_workers_answer(server)
        async with open_stream(server, "u5") as one, open_stream(server, "u5") as two:
            for index in range(4):
                assert (await ask(server, "u5", f"q{index}")).status_code == 202
                got_one, got_two = await asyncio.gather(one.until(*TERMINAL), two.until(*TERMINAL))
                assert keyed(got_one) == keyed(got_two)
                assert got_one[-1].event == "ANSWER_END"
        # SIGTERM mid-answer: each worker gives its streams the grace and goodbye one process
        # gives, the chat page's and the OpenAI API's alike.
        async with open_stream(server, "u5") as stream:
            assert (await ask(server, "u5", "a long one")).status_code == 202
            await stream.until("ANSWER_CHUNK")
            async with httpx.AsyncClient(base_url=server.url, timeout=READ_TIMEOUT) as client:
                api_ready = asyncio.Event()
                api = asyncio.create_task(read_openai_stream(client, "a long one", api_ready))
                await api_ready.wait()
                started = time.monotonic()
                code = await asyncio.to_thread(server.stop)
                elapsed = time.monotonic() - started
                payloads = await api
            rest = await stream.until("SERVER_SHUTDOWN", timeout=READ_TIMEOUT)
        assert code == 0
        assert elapsed < 2.0 + 3.0 + 1.0  # shutdown_grace + the margin, + the supervisor's join
        assert rest[-1].event == "SERVER_SHUTDOWN"
        assert payloads[-1] == "[DONE]"
        assert '"code":"server_shutdown"' in payloads[-2]
        output = server.output()
        # The answer ended with ERROR in the user's stream (a reconnect replays it from Redis).
        assert "answer user=u5" in output
        assert "outcome=shutdown" in output.split("answer user=u5")[-1].splitlines()[0]
        assert "Traceback" not in output
    finally:
        server.kill()


@pytest.mark.slow
async def test_workers_stop_when_their_supervisor_is_killed(
    tmp_path: Path, shared_redis: RedisServer
) -> None:
    """A supervisor gone without a word (SIGKILL, the OOM killer) leaves no worker serving on
    as an orphan: each notices, says goodbye to its streams as on SIGTERM, and exits."""
    server = spawn_workers(write_config(tmp_path, shared_redis))
    try:
        await asyncio.to_thread(server.wait_listening)
        await both_workers_answer(server)
        workers = [
            child
            for child in psutil.Process(server.process.pid).children()
            if "spawn_main" in " ".join(child.cmdline())
        ]
        assert len(workers) == 2
        server.process.send_signal(signal.SIGKILL)  # the supervisor alone, not its group
        server.process.wait()
        async with asyncio.timeout(30):  # shutdown_grace (2 s) + the margin (3 s), and slack
            while not all(exited(worker) for worker in workers):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
        assert server.output().count("stopping: saying goodbye to open streams") == 2
    finally:
        server.kill()


@pytest.mark.slow
async def test_redis_restarted_mid_answer(tmp_path: Path, own_redis: RedisServer) -> None:
    config = write_config(tmp_path, own_redis, chunk_delay=0.05)
    with live_server(config) as node:
        async with open_stream(node, "u6") as stream:
            assert (await ask(node, "u6", "a long one")).status_code == 202
            before = await stream.until("ANSWER_CHUNK")
            own_redis.stop()
            async with asyncio.timeout(10):
                while (status := await health(node))["redis"] != "unavailable":  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert status["status"] == "degraded"
            refused = await ask(node, "u6", "during the outage")
            assert refused.status_code == 503
            assert refused.json()["error"] == "broker_unavailable"
            own_redis.start()
            rest = await stream.until(*TERMINAL, timeout=30)
            async with asyncio.timeout(10):
                while (await health(node))["redis"] != "ok":  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert (await ask(node, "u6", "after")).status_code == 202
            after = await stream.until(*TERMINAL)
    answer = before + rest
    assert answer[-1].event == "ANSWER_END"
    chunks = [event.data for event in answer if event.event == "ANSWER_CHUNK"]
    assert chunks == [f"p{index} " for index in range(60)]  # nothing lost, nothing twice
    assert after[-1].event == "ANSWER_END"


def test_unreachable_redis_stops_startup_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "unreachable.toml"
    url = f"redis://127.0.0.1:{free_port()}/0"
    path.write_text(f'[broker]\nbackend = "redis"\nurl = "{url}"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "quart_qa", "serve", "--config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"quart-qa: cannot reach Redis at {url}")


def test_memory_workers_refusal_points_at_redis() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quart_qa", "serve", "--workers", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert 'backend = "redis"' in result.stderr

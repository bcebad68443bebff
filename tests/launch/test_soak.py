"""Soak: rounds of streams opened and closed against the real server; what it holds comes back.

Every round opens chat streams for new user ids (some ask and read their answer), OpenAI
and Anthropic streams, and closes them all. After a warm-up, the server's RSS, open
descriptors and asyncio tasks must come back under a bound after every round, and the
collector must have run full collections (the garbage of closed connections otherwise
piles up in its oldest generation); the bounds and the figures are printed.
``make soak`` runs it for longer (``QA_SOAK_SECONDS``).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.support.live_server import ServerProcess, live_server

SECONDS = float(os.environ.get("QA_SOAK_SECONDS", "20"))
STREAMS_PER_ROUND = 150
ASKING_PER_ROUND = 10
API_STREAMS_PER_ROUND = 10
WARM_UP_ROUNDS = 3
RSS_BOUND_KIB = 12 * 1024  # growth allowed over the warm-up figure
FD_BOUND = 5
TASK_BOUND = 5
CONFIG = """
[stream]
chunk_delay = 0
heartbeat = 0
history_ttl = 2

[limits]
new_users_per_minute = 0
asks_per_minute = 0
max_history_bytes = 1048576

[[answers]]
parts = [{parts}]
"""


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def chat_stream(client: httpx.AsyncClient, user_id: str, asks: bool) -> int:
    chunks = 0
    async with aconnect_sse(client, "GET", f"/qa/connect/{user_id}") as source:
        async for event in source.aiter_sse():
            if event.event == "CONNECTED" and not asks:
                return 1
            if event.event == "CONNECTED":
                question = {"question": f"question of {user_id} " + "q" * 500}
                assert (await client.post(f"/qa/ask/{user_id}", json=question)).status_code == 202
            elif event.event == "ANSWER_CHUNK":
                chunks += 1
            elif event.event == "ANSWER_END":
                return chunks
    raise AssertionError("stream ended early")


async def api_stream(client: httpx.AsyncClient, index: int) -> int:
    messages = [{"role": "user", "content": f"api {index}"}]
    if index % 2:
        path, body = "/v1/messages", {"model": "m", "max_tokens": 500, "messages": messages}
    else:
        path, body = "/v1/chat/completions", {"model": "m", "messages": messages}
    async with client.stream("POST", path, json={**body, "stream": True}) as response:
        assert response.status_code == 200
        return sum([1 async for _ in response.aiter_lines()])


async def one_round(server: ServerProcess, round_number: int) -> None:
    limits = httpx.Limits(max_connections=STREAMS_PER_ROUND + 2 * API_STREAMS_PER_ROUND)
    async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
        users = [f"soak{round_number}x{n}" for n in range(STREAMS_PER_ROUND)]
        results = await asyncio.gather(
            *(chat_stream(client, user, n < ASKING_PER_ROUND) for n, user in enumerate(users)),
            *(api_stream(client, n) for n in range(API_STREAMS_PER_ROUND)),
        )
    assert all(results)


def full_collections(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith('python_gc_collections_total{generation="2"}'):
            return float(line.split()[-1])
    raise AssertionError("no python_gc_collections_total in /metrics")


SETTLE_SECONDS = 10.0


async def settle(
    client: httpx.AsyncClient, pid: int, bound: tuple[int, int] | None
) -> tuple[int, int]:
    """Descriptors and tasks once the server has seen every client go (under ``bound``)."""
    async with asyncio.timeout(SETTLE_SECONDS):
        while True:
            health = (await client.get("/healthz")).json()
            figures = open_fds(pid), int(health["tasks"])
            if health["connections"] == 0 and (
                bound is None or (figures[0] <= bound[0] and figures[1] <= bound[1])
            ):
                return figures
            await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_soak_memory_descriptors_and_tasks_come_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = ", ".join(f'"part {n} {"x" * 100}"' for n in range(50))
    config = tmp_path / "soak.toml"
    config.write_text(CONFIG.replace("{parts}", parts), encoding="utf-8")
    figures: list[tuple[int, int, int, int]] = []
    with live_server(config) as server:
        pid = server.process.pid
        deadline = time.monotonic() + SECONDS
        round_number = 0
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as probe:
            at_start = full_collections((await probe.get("/metrics")).text)
            while round_number < WARM_UP_ROUNDS + 2 or time.monotonic() < deadline:
                async with asyncio.timeout(60):
                    await one_round(server, round_number)
                bound = None
                if round_number >= WARM_UP_ROUNDS:
                    bound = max(f[2] for f in figures) + FD_BOUND, max(f[3] for f in figures)
                    bound = bound[0], bound[1] + TASK_BOUND
                fds, tasks = await settle(probe, pid, bound)
                figures.append((round_number, status_kib(pid, "VmRSS"), fds, tasks))
                round_number += 1
            collections = full_collections((await probe.get("/metrics")).text) - at_start
    base_rss = max(rss for n, rss, _, _ in figures[:WARM_UP_ROUNDS])
    base_fds = max(fds for n, _, fds, _ in figures[:WARM_UP_ROUNDS])
    base_tasks = max(tasks for n, _, _, tasks in figures[:WARM_UP_ROUNDS])
    after = figures[WARM_UP_ROUNDS:]
    with capsys.disabled():
        print(
            f"\nsoak: {len(figures)} rounds in {SECONDS:g}s, each {STREAMS_PER_ROUND} chat "
            f"streams (new user ids, {ASKING_PER_ROUND} asking) + {API_STREAMS_PER_ROUND} API "
            f"streams; bounds: RSS <= "
            f"{base_rss} + {RSS_BOUND_KIB} KiB, fds <= {base_fds} + {FD_BOUND}, tasks <= "
            f"{base_tasks} + {TASK_BOUND}; after warm-up: RSS max {max(f[1] for f in after)} "
            f"KiB, fds max {max(f[2] for f in after)}, tasks max {max(f[3] for f in after)}; "
            f"full collections {collections:g}"
        )
    assert collections >= 1  # closed connections' cycles do not wait for 10^8 allocations
    for round_number, rss, fds, tasks in after:
        assert rss <= base_rss + RSS_BOUND_KIB, figures
        assert fds <= base_fds + FD_BOUND, figures
        assert tasks <= base_tasks + TASK_BOUND, (round_number, figures)

"""The real server over real sockets: ``quart-qa serve``, Hypercorn, httpx + httpx-sse."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from httpx_sse import aconnect_sse

from quart_qa.settings.config import SEED_ANSWER_PARTS
from tests.support.live_server import ROOT, ServerProcess, exited, free_port, live_server, spawn

FAST_CONFIG = """
[stream]
chunk_delay = 0.02
heartbeat = 0.2

[[answers]]
match = "weather"
text = "Sunny and warm today."
chunk_by = "word"

[[answers]]
parts = ["这是对您问题的回答。", "首先,我们需要理解问题的核心。"]
"""


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    path = tmp_path / "fast.toml"
    path.write_text(FAST_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def server(fast_config: Path) -> Iterator[ServerProcess]:
    with live_server(fast_config) as running:
        yield running


async def collect_answer(
    server: ServerProcess, user_id: str, question: str
) -> list[tuple[str, str]]:
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=5) as client,
        asyncio.timeout(10),
        aconnect_sse(client, "GET", f"/qa/connect/{user_id}") as source,
    ):
        assert source.response.headers["content-type"].startswith("text/event-stream")
        events = []
        async for event in source.aiter_sse():
            if event.event == "message" and not event.data:
                continue  # httpx-sse reports a heartbeat comment after an id as an empty event
            events.append((event.event, event.data))
            if event.event == "CONNECTED":
                response = await client.post(f"/qa/ask/{user_id}", json={"question": question})
                assert response.status_code == 202
            if event.event in {"ANSWER_END", "ERROR"}:
                return events
    raise AssertionError(f"stream ended early: {events}")


async def test_streams_an_answer_over_real_http(server: ServerProcess) -> None:
    events = await collect_answer(server, "e2e", "what is the weather?")
    assert events == [
        ("CONNECTED", "连接已建立,用户ID: e2e"),
        ("ANSWER_START", "开始回答问题: what is the weather?"),
        ("ANSWER_CHUNK", "Sunny "),
        ("ANSWER_CHUNK", "and "),
        ("ANSWER_CHUNK", "warm "),
        ("ANSWER_CHUNK", "today."),
        ("ANSWER_END", "回答结束"),
    ]


async def test_page_and_errors_over_real_http(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        page = await client.get("/")
        assert page.status_code == 200
        bad = await client.post(
            "/qa/ask/x", content=b"{", headers={"content-type": "application/json"}
        )
        assert bad.status_code == 400
        assert bad.json()["error"] == "malformed_json"


async def test_sigterm_stops_with_streams_open(server: ServerProcess) -> None:
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=5) as client,
        asyncio.timeout(10),
        aconnect_sse(client, "GET", "/qa/connect/stay") as source,
    ):
        events = source.aiter_sse()
        first = await anext(events)
        assert first.event == "CONNECTED"
        started = time.monotonic()
        code = await asyncio.to_thread(server.stop)
        elapsed = time.monotonic() - started
        remaining = [event.event async for event in events]  # ends cleanly, no hang
    assert code == 0
    assert elapsed < 5
    assert "CONNECTED" not in remaining


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quart_qa", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_check_config_prints_rules(fast_config: Path) -> None:
    result = run_cli("check-config", str(fast_config))
    assert result.returncode == 0
    assert "answers[0] match /weather/: 4 part(s)" in result.stdout
    assert "answers[1] default: 2 part(s)" in result.stdout


def test_bad_config_stops_startup_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[answers]]\nmatch = "("\nparts = ["a"]\n', encoding="utf-8")
    for args in (["serve", "--config", str(path)], ["check-config", str(path)]):
        result = run_cli(*args)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert str(path) in lines[0]
        assert "answers[0].match" in lines[0]
        assert "Traceback" not in result.stderr


def test_workers_above_one_is_refused_clearly() -> None:
    result = run_cli("serve", "--workers", "2", "--bind", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "--workers" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_defaults_to_config_default_toml() -> None:
    port = free_port()
    server = spawn(["serve", "--bind", f"127.0.0.1:{port}"], port=port)
    try:
        server.wait_listening()
        assert server.stop() == 0
        assert "config/default.toml" in server.output()
    finally:
        server.kill()


async def test_hypercorn_can_load_the_factory(fast_config: Path) -> None:
    port = free_port()
    server = spawn(
        ["quart_qa:create_app()", "--bind", f"127.0.0.1:{port}"],
        env={"QA_CONFIG": str(fast_config)},
        port=port,
        module="hypercorn",
    )
    try:
        await asyncio.to_thread(server.wait_listening)
        events = await collect_answer(server, "hc", "weather")
        assert events[-1] == ("ANSWER_END", "回答结束")
        assert [data for name, data in events if name == "ANSWER_CHUNK"] == [
            "Sunny ",
            "and ",
            "warm ",
            "today.",
        ]
        started = psutil.Process(server.process.pid).children()
        assert started  # Hypercorn's supervisor serves through a spawned worker
    finally:
        server.kill()
    # Hypercorn's supervisor killed alone would leave its worker serving on, an orphan.
    async with asyncio.timeout(10):
        while not all(exited(process) for process in started):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def test_seed_answer_is_the_embedded_default() -> None:
    assert len(SEED_ANSWER_PARTS) == 5

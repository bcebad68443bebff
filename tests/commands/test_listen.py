"""``quart-qa listen`` as a real process: raw frames byte for byte, and resuming after a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.cli_process import cli_process, write_config
from tests.support.live_server import QaServer, ServerProcess

CONFIG = """
[stream]
chunk_delay = 0.02
heartbeat = 0
"""
FRAME_END = b"\n\n"
TIMEOUT = 20.0
pytestmark = pytest.mark.timeout(120)  # two server starts on a busy machine


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory, "listen", CONFIG)


def after_first_frame(stream: bytes) -> bytes:
    """Everything after a connection's own CONNECTED frame."""
    return stream.split(FRAME_END, 1)[1]


async def test_raw_prints_the_frames_byte_for_byte(server: ServerProcess) -> None:
    async with (
        asyncio.timeout(TIMEOUT),
        cli_process("listen", "raw-user", "--url", server.url, "--raw") as listen,
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{server.url}/qa/connect/raw-user") as other,
    ):
        await listen.wait_for(lambda: FRAME_END in listen.stdout)
        assert listen.stdout.startswith(b"event: CONNECTED\n")
        seen = bytearray()
        frames = other.aiter_raw()
        asked = await client.post(f"{server.url}/qa/ask/raw-user", json={"question": "hi"})
        assert asked.status_code == 202
        while b"event: ANSWER_END" not in seen or not seen.endswith(FRAME_END):
            seen.extend(await anext(frames))
        await listen.wait_for(
            lambda: (
                len(after_first_frame(bytes(listen.stdout))) >= len(after_first_frame(bytes(seen)))
            )
        )
    # Every frame after each connection's own CONNECTED is the same, byte for byte.
    assert after_first_frame(bytes(listen.stdout)) == after_first_frame(bytes(seen))
    assert listen.stderr == b""


async def test_listen_survives_a_restart_and_says_it_resumed(config: Path, tmp_path: Path) -> None:
    with QaServer(config, tmp_path) as server:
        async with (
            asyncio.timeout(3 * TIMEOUT),
            cli_process("listen", "restart", "--url", server.url, "--retry", "0.2") as listen,
            httpx.AsyncClient(timeout=10) as client,
        ):
            await listen.wait_for(lambda: b"CONNECTED" in listen.stdout)
            await client.post(f"{server.url}/qa/ask/restart", json={"question": "before"})
            await listen.wait_for(lambda: b"ANSWER_END" in listen.stdout)
            server.stop()
            await listen.wait_for(lambda: b"reconnecting" in listen.stderr)
            server.start()
            await listen.wait_for(lambda: b"resumed after event" in listen.stderr)
            await client.post(f"{server.url}/qa/ask/restart", json={"question": "after"})
            await listen.wait_for(lambda: listen.stdout.count(b"ANSWER_END") == 2)
    lines = listen.stdout.decode().splitlines()
    names = [line.split()[1] for line in lines]
    assert names[0] == "CONNECTED"
    shutdown = names.index("SERVER_SHUTDOWN")  # the old server said goodbye ...
    assert names[shutdown + 1] == "CONNECTED"  # ... and the new one took the stream over
    assert any("开始回答问题: after" in line for line in lines[shutdown:])

"""LLM API streams under the server's limits and in its sight: counted as connections, shown
in /healthz and /metrics, and given a goodbye in their own error shape at shutdown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from quart import Quart
from quart.typing import TestClientProtocol as Client
from quart.typing import TestHTTPConnectionProtocol as HTTPConnection

from quart_qa.dialects.state import get_llm_state
from quart_qa.web.state import get_state
from tests.support.apps import AppFactory
from tests.support.llm_server import llm_settings

TIMEOUT = 10.0
SLOW = {"messages": [{"role": "user", "content": "slow"}], "stream": True}
OPENAI = ("/v1/chat/completions", {"model": "m", **SLOW})
ANTHROPIC = ("/v1/messages", {"model": "m", "max_tokens": 50, **SLOW})


@asynccontextmanager
async def api_stream(client: Client, path: str, body: dict[str, Any]) -> AsyncIterator[Stream]:
    """A streaming API request, open until the block ends."""
    headers = {"Content-Type": "application/json"}
    async with client.request(path, method="POST", headers=headers) as connection:
        await connection.send(json.dumps(body).encode())
        await connection.send_complete()
        stream = Stream(connection)
        try:
            yield stream
        finally:
            if not stream.ended:
                await connection.disconnect()


class Stream:
    """What one streaming response has sent so far."""

    def __init__(self, connection: HTTPConnection) -> None:
        self.connection = connection
        self.text = ""
        self.ended = False

    async def until(self, marker: str) -> str:
        async with asyncio.timeout(TIMEOUT):
            while marker not in self.text:
                data = await self.connection.receive()
                self.text += data.decode()
        return self.text

    async def to_end(self) -> str:
        async with asyncio.timeout(TIMEOUT):
            while not self.ended:
                data = await self.connection.receive()
                self.text += data.decode()
                self.ended = not data  # the final, empty body message
        return self.text


async def metric_lines(client: Client) -> list[str]:
    text = await (await client.get("/metrics")).get_data(as_text=True)
    return text.splitlines()


async def test_api_streams_count_as_connections_and_are_shown(make_app: AppFactory) -> None:
    settings = llm_settings()
    settings = replace(settings, limits=replace(settings.limits, max_connections=1))
    async with make_app(settings) as app:
        client = app.test_client()
        async with api_stream(client, *OPENAI) as stream:
            await stream.until('"content":"Slow"')
            health = await (await client.get("/healthz")).get_json()
            assert health["connections"] == 1
            assert health["streams"] == {"chat": 0, "openai": 1}
            refused = await client.get("/qa/connect/u1")
            assert refused.status_code == 503
            assert (await refused.get_json())["error"] == "too_many_connections"
            path, body = ANTHROPIC
            refused = await client.post(path, json=body)
            assert refused.status_code == 503
            assert (await refused.get_json())["type"] == "error"
            assert 'qa_open_api_streams{api="openai"} 1.0' in await metric_lines(client)
        async with asyncio.timeout(TIMEOUT):
            await get_llm_state(app).tracker.wait_idle()
        lines = await metric_lines(client)
    assert 'qa_generations_total{api="openai",outcome="disconnected"} 1.0' in lines
    assert 'qa_time_to_first_token_seconds_count{api="openai"} 1.0' in lines
    assert 'qa_requests_refused_total{code="too_many_connections"} 2.0' in lines


def frames(text: str) -> list[str]:
    return [frame for frame in text.split("\n\n") if frame]


async def shut_down_while_streaming(app: Quart) -> tuple[str, str]:
    client = app.test_client()
    async with api_stream(client, *OPENAI) as openai, api_stream(client, *ANTHROPIC) as claude:
        await openai.until('"content":"Slow"')
        await claude.until('"text":"Slow"')
        await get_state(app).shut_down()
        return await openai.to_end(), await claude.to_end()


async def test_shutdown_ends_api_streams_with_their_own_error_frame(
    make_app: AppFactory,
) -> None:
    async with make_app(llm_settings(shutdown_grace=0.2)) as app:
        openai, claude = await shut_down_while_streaming(app)
        outcomes = dict(get_llm_state(app).tracker.outcomes)
    *_, error, done = frames(openai)
    assert done == "data: [DONE]"
    assert json.loads(error.removeprefix("data: "))["error"]["code"] == "server_shutdown"
    name, data = frames(claude)[-1].split("\n")
    assert name == "event: error"
    assert json.loads(data.removeprefix("data: "))["error"]["type"] == "overloaded_error"
    assert outcomes == {"shutdown": 2}

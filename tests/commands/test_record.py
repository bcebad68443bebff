"""``quart-qa record`` between the official SDKs and a second quart-qa as the upstream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.support.cli_process import cli_process, write_config
from tests.support.live_server import ServerProcess, live_server

SECRET = "a-secret-for-signing-tokens-in-this-test"
UPSTREAM = f"""
[auth]
mode = "token"
secret = "{SECRET}"

[models.recorded-model]
ttft = 1.0
tokens_per_second = 20

[[answers]]
after_tool = "get_weather"
first_chunk_delay = 0.2
delay = 0.05
steps = [{{ reasoning = "The tool answered." }}, {{ text = "It is {{tool_result}} in Paris." }}]

[[answers]]
match = "weather"
first_chunk_delay = 0.2
delay = 0.05
steps = [
    {{ reasoning = "I need the weather tool." }},
    {{ tool = "get_weather", arguments = {{ city = "Paris", unit = "celsius" }} }},
]

[[answers]]
match = "sse"
text = "Server-Sent Events keep one HTTP response open and write small text frames to it."

[[answers]]
text = "Any other question gets this answer, streamed a token at a time."
"""
OPENAI_QUESTION = "What is SSE?"
AGENT_QUESTION = "What's the weather in Paris?"
WEATHER_TOOL: Any = {
    "type": "function",
    "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
}
TOOL_OUTPUT = "sunny, 21 °C"
ANTHROPIC_QUESTION = "Something else"
TOLERANCE = 0.2
pytestmark = pytest.mark.timeout(120)  # four servers and commands start on a busy machine
TIMEOUT = 60.0


@dataclass(frozen=True)
class Answer:
    text: str
    first: float
    total: float


async def ask_openai(base_url: str, key: str) -> Answer:
    client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0)
    first = 0.0
    pieces = []
    async with client:
        await client.models.list()  # connected and warmed up: time the answer alone
        started = time.perf_counter()
        stream = await client.chat.completions.create(
            model="recorded-model",
            messages=[{"role": "user", "content": OPENAI_QUESTION}],
            stream=True,
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first = first or time.perf_counter() - started
                pieces.append(chunk.choices[0].delta.content)
    return Answer("".join(pieces), first, time.perf_counter() - started)


async def ask_anthropic(base_url: str, key: str) -> Answer:
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key=key, max_retries=0)
    first = 0.0
    pieces = []
    async with client:
        await client.models.list()  # connected and warmed up: time the answer alone
        started = time.perf_counter()
        async with client.messages.stream(
            model="recorded-model",
            max_tokens=1024,
            messages=[{"role": "user", "content": ANTHROPIC_QUESTION}],
        ) as stream:
            async for text in stream.text_stream:
                first = first or time.perf_counter() - started
                pieces.append(text)
    return Answer("".join(pieces), first, time.perf_counter() - started)


@dataclass(frozen=True)
class AgentRun:
    calls: list[tuple[str, Any]]
    answer: str


async def run_agent(base_url: str, key: str) -> AgentRun:
    """Ask with a tool offered, send its result back, read the answer that follows."""
    client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0)
    messages: list[Any] = [{"role": "user", "content": AGENT_QUESTION}]
    async with client:
        first = await client.chat.completions.create(
            model="recorded-model", messages=messages, tools=[WEATHER_TOOL]
        )
        calls = first.choices[0].message.tool_calls or []
        messages.append(first.choices[0].message.model_dump(exclude_none=True))
        messages.extend(
            {"role": "tool", "tool_call_id": call.id, "content": TOOL_OUTPUT} for call in calls
        )
        pieces = []
        stream = await client.chat.completions.create(
            model="recorded-model", messages=messages, tools=[WEATHER_TOOL], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    return AgentRun(
        [(call.function.name, json.loads(call.function.arguments)) for call in calls],  # type: ignore[union-attr]
        "".join(pieces),
    )


async def ask_both(base_url: str, key: str) -> tuple[Answer, Answer]:
    openai_answer, anthropic_answer = await asyncio.gather(
        ask_openai(base_url, key), ask_anthropic(base_url, key)
    )
    return openai_answer, anthropic_answer


async def fastest_of_two(base_url: str, key: str) -> tuple[Answer, Answer]:
    """Each answer's best timing of two runs: a busy machine only ever adds delay."""
    runs = [await ask_both(base_url, key) for _ in range(2)]
    return (
        Answer(
            runs[0][0].text, min(run[0].first for run in runs), min(run[0].total for run in runs)
        ),
        Answer(
            runs[0][1].text, min(run[1].first for run in runs), min(run[1].total for run in runs)
        ),
    )


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with live_server(write_config(tmp_path_factory, "upstream", UPSTREAM)) as running:
        yield running


def within(replayed: float, original: float) -> bool:
    return abs(replayed - original) <= TOLERANCE * original


async def test_a_recording_replays_the_same_answers_at_the_same_pace(
    upstream: ServerProcess, tmp_path: Path
) -> None:
    out = tmp_path / "recorded.toml"
    async with asyncio.timeout(TIMEOUT), httpx.AsyncClient() as client:
        # The upstream wants a token: only a proxy that passes the key on gets an answer.
        session = await client.post(f"{upstream.url}/qa/session")
        key = session.json()["token"]
        args = ["record", "--upstream", upstream.url, "--out", str(out), "--bind", "127.0.0.1:0"]
        async with cli_process(*args) as proxy:
            await proxy.wait_for(lambda: b"recording on " in proxy.stderr)
            proxy_url = proxy.stderr.split(b"recording on ", 1)[1].split()[0].decode()
            direct = await fastest_of_two(upstream.url, key)
            direct_agent = await run_agent(upstream.url, key)
            proxied, proxied_agent = await asyncio.gather(
                ask_both(proxy_url, key), run_agent(proxy_url, key)
            )
            await proxy.wait_for(lambda: proxy.stderr.count(b"recorded ") == 4)
        assert proxy.process.returncode == 0
    assert proxied[0].text == direct[0].text
    assert proxied[1].text == direct[1].text
    assert proxied_agent == direct_agent
    assert direct_agent.calls == [("get_weather", {"city": "Paris", "unit": "celsius"})]
    assert TOOL_OUTPUT in direct_agent.answer

    recorded = out.read_text(encoding="utf-8")
    assert key not in recorded
    assert SECRET not in recorded

    with live_server(out) as replay:
        async with asyncio.timeout(TIMEOUT):
            replayed = await fastest_of_two(replay.url, "any-key")
            replayed_agent = await run_agent(replay.url, "any-key")
    assert replayed_agent == direct_agent  # the same tool call, then the same answer
    for original, again in zip(direct, replayed, strict=True):
        assert again.text == original.text
        assert within(again.first, original.first), (again, original)
        assert within(again.total, original.total), (again, original)

"""The official ``openai`` package against a real server: only ``base_url`` and a dummy key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI, Stream
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from tests.support.llm_server import (
    FAILURE,
    GREETING,
    GREETING_TOKENS,
    ThreadedServer,
    llm_settings,
)

MODELS: dict[str, dict[str, Any]] = {
    "fast": {},
    "slow": {"ttft": 0.3, "tokens_per_second": 200},
    "parts": {"deltas": "part"},
}


def user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


USER_HI = user("hi")


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(llm_settings(MODELS)) as server:
        yield server


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{server.url}/v1", api_key="dummy") as client:
        yield client


@pytest.fixture
async def async_client(server: ThreadedServer) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server.url}/v1", api_key="dummy")


def content_of(chunks: list[ChatCompletionChunk]) -> str:
    return "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)


def test_sync_stream(client: OpenAI) -> None:
    stream = client.chat.completions.create(model="fast", messages=USER_HI, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [chunk.choices[0].delta.content for chunk in chunks[1:-1]] == list(GREETING_TOKENS)
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert content_of(chunks) == GREETING
    assert len({chunk.id for chunk in chunks}) == 1
    assert all(chunk.usage is None for chunk in chunks)


async def test_async_stream(async_client: AsyncOpenAI) -> None:
    async with async_client, asyncio.timeout(10):
        stream = await async_client.chat.completions.create(
            model="fast", messages=USER_HI, stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert content_of(chunks) == GREETING
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_sync_non_streaming(client: OpenAI) -> None:
    completion = client.chat.completions.create(model="fast", messages=USER_HI)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == GREETING
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 1
    assert completion.usage.completion_tokens == len(GREETING_TOKENS)
    assert completion.usage.total_tokens == 1 + len(GREETING_TOKENS)


async def test_async_non_streaming(async_client: AsyncOpenAI) -> None:
    async with async_client, asyncio.timeout(10):
        completion = await async_client.chat.completions.create(model="fast", messages=USER_HI)
    assert completion.choices[0].message.content == GREETING


def test_include_usage(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fast", messages=USER_HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == len(GREETING_TOKENS)
    assert last.usage.prompt_tokens == 1
    assert all(chunk.usage is None for chunk in chunks[:-1])


def test_max_tokens_ends_with_length(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fast", messages=USER_HI, stream=True, max_tokens=3
    )
    chunks = list(stream)
    assert content_of(chunks) == "Hello there!"
    assert chunks[-1].choices[0].finish_reason == "length"
    whole = client.chat.completions.create(model="fast", messages=USER_HI, max_completion_tokens=2)
    assert whole.choices[0].finish_reason == "length"
    assert whole.choices[0].message.content == "Hello there"


def test_stream_helper_accumulates(client: OpenAI) -> None:
    with client.chat.completions.stream(model="fast", messages=USER_HI) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == GREETING
    assert final.choices[0].message.content == GREETING
    assert final.choices[0].finish_reason == "stop"


def test_failure_mid_stream_raises_api_error(client: OpenAI) -> None:
    received: list[str] = []

    def read(stream: Stream[ChatCompletionChunk]) -> None:
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)

    stream = client.chat.completions.create(model="fast", messages=user("fail"), stream=True)
    with pytest.raises(openai.APIError, match=FAILURE) as caught:
        read(stream)
    assert "".join(received) == "Partial answer"
    assert caught.value.body == {
        "message": FAILURE,
        "type": "server_error",
        "param": None,
        "code": "simulated_failure",
    }


async def test_async_failure_mid_stream_raises_api_error(async_client: AsyncOpenAI) -> None:
    async with async_client, asyncio.timeout(10):
        stream = await async_client.chat.completions.create(
            model="fast", messages=user("fail"), stream=True
        )
        with pytest.raises(openai.APIError, match=FAILURE):
            async for _chunk in stream:
                pass


def test_failure_without_streaming_is_a_server_error(server: ThreadedServer) -> None:
    # The SDK retries 5xx by default; a scripted failure fails every time.
    client = OpenAI(base_url=f"{server.url}/v1", api_key="dummy", max_retries=0)
    with client, pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="fast", messages=user("fail"))
    assert caught.value.status_code == 500
    assert caught.value.code == "simulated_failure"


def test_unknown_model_raises_not_found(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-nope", messages=USER_HI, stream=True)
    assert caught.value.code == "model_not_found"
    assert caught.value.param == "model"


async def test_async_unknown_model_raises_not_found(async_client: AsyncOpenAI) -> None:
    async with async_client, asyncio.timeout(10):
        with pytest.raises(openai.NotFoundError):
            await async_client.chat.completions.create(model="gpt-nope", messages=USER_HI)


def test_bad_request_raises_bad_request_error(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="fast", messages=[])
    assert caught.value.param == "messages"


def test_models_list_and_retrieve(client: OpenAI) -> None:
    models = client.models.list()
    assert [model.id for model in models] == ["fast", "slow", "parts"]
    assert all(model.owned_by == "quart-qa" for model in models)
    assert client.models.retrieve("slow").id == "slow"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nope")


async def test_async_models_list(async_client: AsyncOpenAI) -> None:
    async with async_client, asyncio.timeout(10):
        ids = [model.id async for model in async_client.models.list()]
    assert ids == ["fast", "slow", "parts"]


async def test_fast_and_slow_models_side_by_side(async_client: AsyncOpenAI) -> None:
    async def time_to_first_token(model: str) -> tuple[float, str]:
        started = time.monotonic()
        first = None
        stream = await async_client.chat.completions.create(
            model=model, messages=USER_HI, stream=True
        )
        text = []
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                first = first or time.monotonic() - started
                text.append(chunk.choices[0].delta.content)
        assert first is not None
        return first, "".join(text)

    async with async_client, asyncio.timeout(10):
        (fast, fast_text), (slow, slow_text) = await asyncio.gather(
            time_to_first_token("fast"), time_to_first_token("slow")
        )
    assert fast_text == slow_text == GREETING
    assert slow >= 0.3
    assert fast < slow


def test_part_deltas(client: OpenAI) -> None:
    stream = client.chat.completions.create(model="parts", messages=USER_HI, stream=True)
    contents = [chunk.choices[0].delta.content for chunk in stream][1:-1]
    assert contents == ["Hello ", "there! ", "This ", "is ", "a ", "scripted ", "answer."]


async def test_closing_the_stream_stops_the_generation(
    server: ThreadedServer, async_client: AsyncOpenAI
) -> None:
    tracker = server.llm.tracker
    await server.wait_idle()
    before, deltas_before = tracker.outcomes["disconnected"], tracker.deltas
    async with async_client, asyncio.timeout(10):
        stream = await async_client.chat.completions.create(
            model="fast", messages=user("long"), stream=True
        )
        received = 0
        async for chunk in stream:
            received += bool(chunk.choices and chunk.choices[0].delta.content)
            if received == 3:
                break
        await stream.close()
        await server.wait_idle()
    assert tracker.outcomes["disconnected"] == before + 1
    assert tracker.deltas - deltas_before < 100  # of 400: it stopped, it did not run on

"""The official ``anthropic`` package against a real server: only ``base_url`` and a dummy key."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic import Anthropic, AsyncAnthropic
from anthropic.types import MessageParam, RawMessageStreamEvent, TextBlock

from tests.support.llm_server import (
    FAILURE,
    GREETING,
    GREETING_TOKENS,
    ThreadedServer,
    llm_settings,
)

MODELS: dict[str, dict[str, Any]] = {"fast": {}, "parts": {"deltas": "part"}}


def user(text: str) -> list[MessageParam]:
    return [{"role": "user", "content": text}]


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(llm_settings(MODELS)) as server:
        yield server


@pytest.fixture
def client(server: ThreadedServer) -> Iterator[Anthropic]:
    with Anthropic(base_url=server.url, api_key="dummy") as client:
        yield client


@pytest.fixture
async def async_client(server: ThreadedServer) -> AsyncAnthropic:
    return AsyncAnthropic(base_url=server.url, api_key="dummy")


def text_of(content: list[Any]) -> str:
    return "".join(block.text for block in content if isinstance(block, TextBlock))


def test_stream_text_deltas_and_final_message(client: Anthropic) -> None:
    with client.messages.stream(model="fast", max_tokens=100, messages=user("hi")) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    assert deltas == list(GREETING_TOKENS)
    assert final.role == "assistant"
    assert final.model == "fast"
    assert final.stop_reason == "end_turn"
    assert text_of(final.content) == GREETING
    assert final.usage.input_tokens == 1
    assert final.usage.output_tokens == len(GREETING_TOKENS)


async def test_async_stream(async_client: AsyncAnthropic) -> None:
    async with (
        async_client,
        asyncio.timeout(10),
        async_client.messages.stream(model="fast", max_tokens=100, messages=user("hi")) as stream,
    ):
        deltas = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(deltas) == GREETING
    assert final.stop_reason == "end_turn"


def test_raw_stream_events(client: Anthropic) -> None:
    events: list[RawMessageStreamEvent] = list(
        client.messages.create(model="parts", max_tokens=100, messages=user("hi"), stream=True)
    )
    assert [event.type for event in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 7,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]  # the SDK drops the ping


def test_non_streaming(client: Anthropic) -> None:
    message = client.messages.create(model="fast", max_tokens=100, messages=user("hi"))
    assert message.type == "message"
    assert message.id.startswith("msg_")
    assert text_of(message.content) == GREETING
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == len(GREETING_TOKENS)


async def test_async_non_streaming(async_client: AsyncAnthropic) -> None:
    async with async_client, asyncio.timeout(10):
        message = await async_client.messages.create(
            model="fast", max_tokens=2, messages=user("hi")
        )
    assert text_of(message.content) == "Hello there"
    assert message.stop_reason == "max_tokens"


def test_max_tokens_and_stop_sequences(client: Anthropic) -> None:
    with client.messages.stream(model="fast", max_tokens=3, messages=user("hi")) as stream:
        cut = stream.get_final_message()
    assert text_of(cut.content) == "Hello there!"
    assert cut.stop_reason == "max_tokens"
    stopped = client.messages.create(
        model="fast", max_tokens=100, messages=user("hi"), stop_sequences=["scripted"]
    )
    assert text_of(stopped.content) == "Hello there! This is a "
    assert stopped.stop_reason == "stop_sequence"
    assert stopped.stop_sequence == "scripted"


def test_error_event_raises(client: Anthropic) -> None:
    received: list[str] = []

    def read() -> None:
        with client.messages.stream(model="fast", max_tokens=100, messages=user("fail")) as stream:
            received.extend(stream.text_stream)

    with pytest.raises(anthropic.APIStatusError, match=FAILURE) as caught:
        read()
    assert "".join(received) == "Partial answer"
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "api_error", "message": FAILURE},
    }


async def test_async_error_event_raises(async_client: AsyncAnthropic) -> None:
    async def read() -> None:
        async with async_client.messages.stream(
            model="fast", max_tokens=100, messages=user("fail")
        ) as stream:
            await stream.get_final_message()

    async with async_client, asyncio.timeout(10):
        with pytest.raises(anthropic.APIStatusError, match=FAILURE):
            await read()


def test_failure_without_streaming_is_an_internal_server_error(server: ThreadedServer) -> None:
    client = Anthropic(base_url=server.url, api_key="dummy", max_retries=0)  # 5xx are retried
    with client, pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(model="fast", max_tokens=100, messages=user("fail"))
    assert caught.value.status_code == 500


def test_unknown_model_raises_not_found(client: Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="claude-nope", max_tokens=100, messages=user("hi"))
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model: claude-nope"},
    }


def test_bad_request_raises_bad_request_error(client: Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        client.messages.create(model="fast", max_tokens=0, messages=user("hi"))


def test_models_list(client: Anthropic) -> None:
    models = list(client.models.list())
    assert [model.id for model in models] == ["fast", "parts"]
    assert models[0].type == "model"
    assert client.models.retrieve("parts").id == "parts"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nope")

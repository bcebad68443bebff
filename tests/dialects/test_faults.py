"""Scripted faults seen through the official SDKs over real sockets, each in its dialect's shape."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from quart_qa.testing import QaServer, with_admin
from tests.support.llm_server import GREETING, ThreadedServer, llm_settings

HI: list[Any] = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer(with_admin(llm_settings(heartbeat=0.2))) as server:
        yield server


@pytest.fixture
def qa(server: ThreadedServer) -> Iterator[QaServer]:
    handle = QaServer(server.url)
    yield handle
    handle.close()


def openai_client(qa: QaServer, retries: int = 0) -> OpenAI:
    return OpenAI(base_url=qa.openai_base_url, api_key="sk-test", max_retries=retries)


def test_openai_sdk_retries_a_429_after_the_retry_after_it_was_given(qa: QaServer) -> None:
    qa.fault("rate_limit", retry_after=1.5)  # the SDK's own first backoff is at most 0.5 s
    with openai_client(qa, retries=2) as client:
        started = time.monotonic()
        completion = client.chat.completions.create(model="m", messages=HI)
        waited = time.monotonic() - started
    assert completion.choices[0].message.content == GREETING
    assert 1.45 <= waited < 10
    first, second = qa.journal(path="/v1/chat/completions")
    assert (first["status"], second["status"]) == (429, 200)
    assert first["fault"] == "rate_limit (retry after 1.5s)"


@pytest.mark.parametrize(
    ("kind", "error", "status", "code"),
    [
        ("rate_limit", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("server_error", openai.InternalServerError, 500, None),
        ("overloaded", openai.InternalServerError, 503, "server_is_overloaded"),
        ("context_length", openai.BadRequestError, 400, "context_length_exceeded"),
    ],
)
def test_openai_status_faults_come_in_openais_error_shape(
    qa: QaServer, kind: str, error: type[openai.APIStatusError], status: int, code: str | None
) -> None:
    qa.fault(kind)
    with openai_client(qa) as client, pytest.raises(error) as caught:
        client.chat.completions.create(model="m", messages=HI)
    assert caught.value.status_code == status
    assert caught.value.code == code
    body = caught.value.body
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}


def test_anthropic_sdk_raises_overloaded_error_on_its_529(qa: QaServer) -> None:
    qa.fault("overloaded")
    client = anthropic.Anthropic(base_url=qa.anthropic_base_url, api_key="k", max_retries=0)
    with client, pytest.raises(anthropic.OverloadedError) as caught:
        client.messages.create(model="m", max_tokens=50, messages=HI)
    assert caught.value.status_code == 529
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def test_openai_sdk_raises_on_a_dropped_connection(qa: QaServer) -> None:
    qa.fault("disconnect", after=2)
    received: list[str] = []
    with openai_client(qa) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        with pytest.raises((openai.APIError, httpx.RemoteProtocolError)):  # noqa: PT012
            for chunk in stream:
                received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) != ""  # the stream began, then the connection went
    (entry,) = qa.journal(path="/v1/chat/completions")
    assert entry["fault"] == "disconnect after 2 chunk(s)"
    assert not any("data: [DONE]" in frame for frame in entry["frames"])


def test_responses_api_gets_a_scripted_429_in_openais_shape_and_retries_it(qa: QaServer) -> None:
    qa.fault("rate_limit", retry_after=1)
    with openai_client(qa) as client, pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(model="m", input="hi")
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    qa.reset()  # adding to a script starts its counts again: the spent fault would be back
    qa.fault("rate_limit", retry_after=1)
    with openai_client(qa, retries=1) as client:
        started = time.monotonic()
        response = client.responses.create(model="m", input="hi")
        waited = time.monotonic() - started
    assert response.output_text == GREETING
    assert 0.95 <= waited < 10
    statuses = [entry["status"] for entry in qa.journal(path="/v1/responses")]
    assert statuses == [429, 429, 200]


def test_responses_api_stream_raises_on_a_dropped_connection(qa: QaServer) -> None:
    qa.fault("disconnect", after=2)
    kinds: list[str] = []
    with openai_client(qa) as client:
        stream = client.responses.create(model="m", input="hi", stream=True)
        with pytest.raises((openai.APIError, httpx.RemoteProtocolError)):  # noqa: PT012
            for event in stream:
                kinds.append(event.type)
    assert "response.output_text.delta" in kinds  # the stream began, then the connection went
    assert "response.completed" not in kinds
    (entry,) = qa.journal(path="/v1/responses")
    assert entry["fault"] == "disconnect after 2 chunk(s)"
    assert not any("response.completed" in frame for frame in entry["frames"])


def test_openai_sdk_raises_on_a_malformed_frame(qa: QaServer) -> None:
    qa.fault("malformed", after=1)
    with openai_client(qa) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        with pytest.raises(ValueError, match=r"Expecting|Unterminated"):
            for _chunk in stream:
                pass


def test_a_truncated_answer_ends_with_length(qa: QaServer) -> None:
    qa.fault("truncate", after=3, text="one two three four five six")
    with openai_client(qa) as client:
        completion = client.chat.completions.create(model="m", messages=HI)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "one two three"


async def test_a_stall_is_silent_keep_alives_included(qa: QaServer) -> None:
    qa.fault("stall", after=1, seconds=1.2)
    arrivals: list[tuple[float, str]] = []
    body = {"model": "m", "messages": HI, "stream": True}
    async with (
        asyncio.timeout(10),
        httpx.AsyncClient(base_url=qa.base_url) as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        async for line in response.aiter_lines():
            if line:
                arrivals.append((time.monotonic(), line))
    gaps = [(later[0] - earlier[0], later[1]) for earlier, later in itertools.pairwise(arrivals)]
    longest, after_gap = max(gaps)
    assert longest >= 1.1  # heartbeat is 0.2 s: a keep-alive would have cut the silence
    assert after_gap.startswith("data: {")
    assert arrivals[-1][1] == "data: [DONE]"


async def test_scripts_scoped_by_header_never_cross(server: ThreadedServer) -> None:
    first, second = QaServer(server.url, scoped=True), QaServer(server.url, scoped=True)
    first.script({"text": "answer for the first test"})
    second.script({"text": "answer for the second test"})

    async def ask_many(handle: QaServer) -> set[str]:
        client = AsyncOpenAI(
            base_url=handle.openai_base_url, api_key="k", default_headers=handle.headers
        )
        async with client:
            replies = await asyncio.gather(
                *(client.chat.completions.create(model="m", messages=HI) for _ in range(5))
            )
        return {reply.choices[0].message.content or "" for reply in replies}

    try:
        async with asyncio.timeout(10):
            one, two = await asyncio.gather(ask_many(first), ask_many(second))
        assert one == {"answer for the first test"}
        assert two == {"answer for the second test"}
        assert len(first.journal()) == 5
        assert {entry["scenario"] for entry in second.journal()} == {second.scenario}
    finally:
        first.close()
        second.close()

"""Frames filled from templates are what the full encoder gives, whatever the text holds.

Every streamed dialect sends its text deltas (and Chat Completions its role and finish
chunks) from pre-encoded templates; here each carries text a JSON encoder must escape, and
every frame must still be compact, canonical JSON carrying exactly the scripted pieces.
"""

from __future__ import annotations

from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from quart_qa.settings.config import Settings, settings_from_mapping
from tests.support.frames import named_events, openai_chunks, payload, stream_frames

PARTS = ['quote " ', "back\\slash ", "new\nline\r\n", "tab\t", "é 中文 😀 ", "\u2028\u2029", "\x00"]


@pytest.fixture
def settings() -> Settings:
    config = {
        "stream": {"chunk_delay": 0, "first_chunk_delay": 0, "heartbeat": 0},
        "models": {"m": {"deltas": "part"}},
        "answers": [{"parts": PARTS}],
    }
    return settings_from_mapping(config, source="<template tests>")


def question(path: str) -> dict[str, Any]:
    if path == "/api/chat":
        parts = [{"type": "text", "text": "hi"}]
        return {"messages": [{"id": "u1", "role": "user", "parts": parts}]}
    if path == "/agui":
        return {"messages": [{"id": "u1", "role": "user", "content": "hi"}]}
    if path == "/v1/responses":
        return {"model": "m", "stream": True, "input": "hi"}
    body: dict[str, Any] = {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    return {**body, "max_tokens": 100} if path == "/v1/messages" else body


def deltas(path: str, frames: list[list[str]]) -> list[str]:
    """The text deltas of a stream, every frame checked to be canonical (``payload``)."""
    if path in ("/v1/messages", "/v1/responses"):
        kind = "content_block_delta" if path == "/v1/messages" else "response.output_text.delta"
        events = named_events(frames)
        if path == "/v1/messages":
            return [data["delta"]["text"] for name, data in events if name == kind]
        numbers = [data["sequence_number"] for _, data in events]
        assert numbers == list(range(len(events)))
        return [data["delta"] for name, data in events if name == kind]
    assert frames[-1] == ["data: [DONE]"] or path == "/agui"
    if path == "/v1/chat/completions":
        chunks = openai_chunks(frames)
        assert chunks[0]["choices"][0]["delta"] == {
            "role": "assistant",
            "content": "",
            "refusal": None,
        }
        assert chunks[-1]["choices"][0] == {
            "index": 0,
            "delta": {},
            "logprobs": None,
            "finish_reason": "stop",
        }
        return [chunk["choices"][0]["delta"]["content"] for chunk in chunks[1:-1]]
    chunks = [payload(frame[0]) for frame in frames if frame != ["data: [DONE]"]]
    kind = "text-delta" if path == "/api/chat" else "TEXT_MESSAGE_CONTENT"
    return [chunk["delta"] for chunk in chunks if chunk["type"] == kind]


@pytest.mark.parametrize(
    "path", ["/v1/chat/completions", "/v1/messages", "/v1/responses", "/api/chat", "/agui"]
)
async def test_templated_frames_carry_any_text_exactly(client: Client, path: str) -> None:
    frames = await stream_frames(client, path, question(path))
    assert deltas(path, frames) == PARTS


async def test_the_shared_chat_chunks_carry_each_streams_own_id_and_model(client: Client) -> None:
    path = "/v1/chat/completions"
    first = openai_chunks(await stream_frames(client, path, question(path)))
    second = openai_chunks(await stream_frames(client, path, question(path)))
    assert {chunk["id"] for chunk in first} != {chunk["id"] for chunk in second}
    for chunks in (first, second):
        assert len({chunk["id"] for chunk in chunks}) == 1
        assert {chunk["model"] for chunk in chunks} == {"m"}

"""Streamed LLM requests served on the ASGI fast path, and everything else left to Quart."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from quart_qa.dialects.fast_path import LlmFastPath
from quart_qa.settings.auth import AuthSettings
from quart_qa.settings.config import Settings
from tests.support.apps import AppFactory
from tests.support.llm_server import GREETING, llm_settings

TIMEOUT = 5.0
CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"


@pytest.fixture
def settings() -> Settings:
    return llm_settings({"fast": {}})


def body(path: str, stream: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "model": "fast",
        "stream": stream,
        "messages": [{"role": "user", "content": "hi"}],
    }
    if path == MESSAGES:
        document["max_tokens"] = 100
    return document


def fast_path(app: Quart) -> LlmFastPath:
    """The LLM fast path, behind the chat page's."""
    layer: object = app.asgi_app
    while not isinstance(layer, LlmFastPath):
        layer = layer._inner  # type: ignore[attr-defined]
    return layer


async def post(client: Client, path: str, document: Any) -> tuple[int, str]:
    async with asyncio.timeout(TIMEOUT):
        response = await client.post(path, json=document)
        return response.status_code, await response.get_data(as_text=True)


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
async def test_a_streamed_request_is_served_on_the_fast_path(
    app: Quart, client: Client, path: str
) -> None:
    status, text = await post(client, path, body(path, stream=True))
    assert status == 200
    assert fast_path(app).served == 1
    assert GREETING not in text  # the text goes out delta by delta...
    assert "scripted" in text  # ...and all of it


@pytest.mark.parametrize("path", [CHAT, MESSAGES])
async def test_what_the_fast_path_does_not_serve_goes_to_quart(
    app: Quart, client: Client, path: str
) -> None:
    whole, _ = await post(client, path, body(path, stream=False))
    unknown_model, error = await post(client, path, {**body(path, stream=True), "model": "x"})
    assert (whole, unknown_model) == (200, 404)
    assert "x" in error  # the dialect's own error, from its route
    assert fast_path(app).served == 0


async def test_token_mode_goes_to_quart(settings: Settings, make_app: AppFactory) -> None:
    token_mode = dataclasses.replace(settings, auth=AuthSettings(mode="token", secret="s" * 32))
    async with make_app(token_mode) as app:
        status, _ = await post(app.test_client(), CHAT, body(CHAT, stream=True))
        assert status == 401
        assert fast_path(app).served == 0

"""[auth] and [limits] on the LLM APIs, through the official SDKs and raw requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import anthropic
import openai
import pytest

from quart_qa.settings.auth import AuthSettings
from quart_qa.web.auth import issue_token
from tests.support.llm_server import GREETING, ThreadedServer, llm_settings

SECRET = "a-test-secret-of-enough-length"
AUTH = AuthSettings(mode="token", secret=SECRET)


@pytest.fixture(scope="module")
def token_server() -> Iterator[ThreadedServer]:
    with ThreadedServer(replace(llm_settings(), auth=AUTH)) as server:
        yield server


def openai_client(server: ThreadedServer, key: str) -> openai.OpenAI:
    # Pooled keep-alive connections with retries off (to see 401 and 429 as they are): a
    # refusal sent before its body was read must leave the connection reusable or say "close".
    return openai.OpenAI(
        base_url=f"{server.url}/v1",
        api_key=key,
        max_retries=0,
        http_client=openai.DefaultHttpxClient(timeout=10),
    )


def anthropic_client(server: ThreadedServer, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=server.url,
        api_key=key,
        max_retries=0,
        http_client=anthropic.DefaultHttpxClient(timeout=10),
    )


def ask_openai(client: openai.OpenAI) -> str:
    completion = client.chat.completions.create(
        model="quart-qa-1", messages=[{"role": "user", "content": "hi"}]
    )
    return completion.choices[0].message.content or ""


def test_openai_sdk_with_a_session_token(token_server: ThreadedServer) -> None:
    with openai_client(token_server, issue_token(AUTH, "user_abc")) as client:
        assert ask_openai(client) == GREETING
        assert [model.id for model in client.models.list()]


@pytest.mark.parametrize("key", ["", "not-a-token"])
def test_openai_sdk_without_a_valid_token(token_server: ThreadedServer, key: str) -> None:
    with openai_client(token_server, key or "placeholder") as base:
        client = base.with_options(default_headers={"Authorization": ""}) if not key else base
        with pytest.raises(openai.AuthenticationError) as caught:
            ask_openai(client)
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
    body: Any = caught.value.body
    assert caught.value.status_code == 401
    assert body["code"] == ("missing_token" if not key else "invalid_token")
    assert set(body) == {"message", "type", "param", "code"}


def test_anthropic_sdk_with_x_api_key(token_server: ThreadedServer) -> None:
    token = issue_token(AUTH, "user_abc")
    question: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
    with anthropic_client(token_server, token) as client:
        message = client.messages.create(model="quart-qa-1", max_tokens=100, messages=question)
    assert message.content[0].type == "text"
    assert message.content[0].text == GREETING
    with (
        anthropic_client(token_server, "forged") as wrong,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        wrong.messages.create(model="quart-qa-1", max_tokens=100, messages=question)
    assert caught.value.status_code == 401
    body: Any = caught.value.body
    assert body["type"] == "error"
    assert body["error"]["type"] == "authentication_error"


def test_rate_limit_is_429_in_each_apis_shape() -> None:
    settings = llm_settings()
    settings = replace(settings, limits=replace(settings.limits, asks_per_minute=2))
    question: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
    with (
        ThreadedServer(settings) as server,
        openai_client(server, "sk-one") as client,
        openai_client(server, "sk-two") as other,
        anthropic_client(server, "sk-one") as claude,
    ):
        assert ask_openai(client) == GREETING
        assert ask_openai(client) == GREETING
        with pytest.raises(openai.RateLimitError) as caught:
            ask_openai(client)
        assert caught.value.response.headers["Retry-After"].isdigit()
        with pytest.raises(openai.RateLimitError):  # keys are free in mode none: the limit
            ask_openai(other)  # is per address, and a new key does not dodge it
        with pytest.raises(anthropic.RateLimitError) as limited:
            claude.messages.create(model="quart-qa-1", max_tokens=10, messages=question)
        body: Any = limited.value.body
        assert body["error"]["type"] == "rate_limit_error"

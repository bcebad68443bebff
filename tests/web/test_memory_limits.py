"""One client cannot grow the server: new user ids and sessions are rate-limited per address,
and what the server keeps is in /metrics. Bad JSON of any shape is a 4xx."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from quart_qa.settings.config import Settings
from tests.support.apps import AppFactory, fast_settings
from tests.support.llm_server import llm_settings
from tests.support.sse_reader import open_stream


def limited(settings: Settings, **limits: int) -> Settings:
    return replace(settings, limits=replace(settings.limits, **limits))


async def test_new_user_ids_are_rate_limited_per_address(make_app: AppFactory) -> None:
    settings = limited(fast_settings(history_ttl=60), new_users_per_minute=3)
    async with make_app(settings) as app:
        client = app.test_client()
        for user in ("a", "b", "c"):
            async with open_stream(client, user):
                pass
        refused = await client.get("/qa/connect/d")
        assert refused.status_code == 429
        assert (await refused.get_json())["error"] == "too_many_new_users"
        assert refused.headers["Retry-After"].isdigit()
        async with open_stream(client, "a"):  # a user the server still holds is not new
            pass
        metrics = await (await client.get("/metrics")).get_data(as_text=True)
    assert 'qa_requests_refused_total{code="too_many_new_users"} 1.0' in metrics
    assert "qa_users 3.0" in metrics
    assert "qa_history_bytes " in metrics
    assert "qa_users_evicted_total 0.0" in metrics


async def test_sessions_are_rate_limited_per_address(make_app: AppFactory) -> None:
    async with make_app(limited(fast_settings(), sessions_per_minute=2)) as app:
        client = app.test_client()
        statuses = [(await client.post("/qa/session")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


DEEP = b"[" * 1000 + b"]" * 1000


@pytest.mark.parametrize(
    "body",
    [DEEP, b'{"question": ' + DEEP + b"}"],
    ids=["deep array", "deep question"],
)
async def test_deeply_nested_json_is_a_400(make_app: AppFactory, body: bytes) -> None:
    async with make_app(fast_settings()) as app:
        client = app.test_client()
        async with open_stream(client, "u1"):
            response = await client.post(
                "/qa/ask/u1", data=body, headers={"Content-Type": "application/json"}
            )
    assert response.status_code == 400
    assert (await response.get_json())["error"] == "malformed_json"


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("path", "extra"), [("/v1/chat/completions", {}), ("/v1/messages", {"max_tokens": 5})]
)
async def test_a_lone_surrogate_in_an_api_request_is_a_400(
    make_app: AppFactory, path: str, extra: dict[str, object], stream: bool
) -> None:
    models: dict[str, dict[str, object]] = {
        "listed": {}
    }  # an unknown model would be echoed back in the 404
    body = {"model": "a\ud800b", "messages": [{"role": "user", "content": "hi"}], **extra}
    raw = json.dumps({**body, "stream": stream}).encode()
    async with make_app(llm_settings(models)) as app:
        response = await app.test_client().post(
            path, data=raw, headers={"Content-Type": "application/json"}
        )
        text = await response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert "lone surrogate" in text

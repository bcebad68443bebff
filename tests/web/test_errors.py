"""Every malformed request gets a clear 4xx JSON error and writes nothing to any stream."""

from __future__ import annotations

import asyncio

import pytest
from quart.typing import TestClientProtocol as Client

from tests.support.sse_reader import open_stream

ALL_BACKENDS = True  # every test here runs on the memory and the Redis broker

LONG = "x" * 4001


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{bad json", {"Content-Type": "application/json"}, 400, "malformed_json"),
        (b"", {"Content-Type": "application/json"}, 400, "malformed_json"),
        (b"\xff\xfe", {"Content-Type": "application/json"}, 400, "malformed_json"),
        (b"{}", {"Content-Type": "application/json"}, 400, "invalid_question"),
        (b'{"question": ""}', {"Content-Type": "application/json"}, 400, "invalid_question"),
        (
            b'{"question": " \\n\\t "}',
            {"Content-Type": "application/json"},
            400,
            "invalid_question",
        ),
        (b'{"question": 42}', {"Content-Type": "application/json"}, 400, "invalid_question"),
        (b'{"question": null}', {"Content-Type": "application/json"}, 400, "invalid_question"),
        (b'{"question": ["a"]}', {"Content-Type": "application/json"}, 400, "invalid_question"),
        (b'["question"]', {"Content-Type": "application/json"}, 400, "invalid_request"),
        (b'"question"', {"Content-Type": "application/json"}, 400, "invalid_request"),
        (
            f'{{"question": "{LONG}"}}'.encode(),
            {"Content-Type": "application/json"},
            413,
            "question_too_long",
        ),
        (b'{"question": "hi"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"question=hi", {"Content-Type": "application/x-www-form-urlencoded"}, 415, None),
        (b'{"question": "hi"}', {}, 415, "unsupported_media_type"),
    ],
)
async def test_bad_ask_is_refused_and_stream_untouched(
    client: Client,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str | None,
) -> None:
    async with open_stream(client, "u1") as stream:
        response = await client.post("/qa/ask/u1", data=body, headers=headers)
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/json"
        payload = await response.get_json()
        assert set(payload) == {"error", "message"}
        if code is not None:
            assert payload["error"] == code
        assert payload["message"]
        assert "Traceback" not in payload["message"]
        # nothing reached the stream: the next event is the answer to a good question
        ok = await client.post("/qa/ask/u1", json={"question": "good"})
        assert ok.status_code == 202
        assert (await stream.next_event()).data == "开始回答问题: good"


async def test_question_at_the_limit_is_accepted(client: Client) -> None:
    async with open_stream(client, "u1") as stream:
        response = await client.post("/qa/ask/u1", json={"question": "y" * 4000})
        assert response.status_code == 202
        await stream.answer()


@pytest.mark.parametrize("user_id", ["has space", "a" * 65, "semi;colon", "点", "a.b"])
@pytest.mark.parametrize("endpoint", ["connect", "ask", "cancel"])
async def test_invalid_user_id(client: Client, user_id: str, endpoint: str) -> None:
    if endpoint == "connect":
        response = await client.get(f"/qa/connect/{user_id}")
    else:
        response = await client.post(f"/qa/{endpoint}/{user_id}", json={"question": "q"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert (await response.get_json())["error"] == "invalid_user_id"


async def test_ask_without_connection_is_404(client: Client) -> None:
    response = await client.post("/qa/ask/nobody", json={"question": "hello?"})
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "not_connected"


async def test_body_too_large(client: Client) -> None:
    response = await client.post(
        "/qa/ask/u1", data=b"{" + b" " * 70_000 + b"}", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"


async def test_unknown_path_and_method_are_json(client: Client) -> None:
    missing = await client.get("/nope")
    assert missing.status_code == 404
    assert (await missing.get_json())["error"] == "not_found"
    wrong = await client.get("/qa/ask/u1")
    assert wrong.status_code == 405
    assert (await wrong.get_json())["error"] == "method_not_allowed"


async def test_bad_client_does_not_disturb_another(client: Client) -> None:
    async with open_stream(client, "good") as stream:
        await client.post("/qa/ask/good", json={"question": "q"})
        bad = [
            client.post("/qa/ask/good", data=b"{nope", headers={"Content-Type": "application/json"})
            for _ in range(20)
        ]
        answer, responses = await asyncio.gather(stream.answer(), asyncio.gather(*bad))
    assert all(response.status_code == 400 for response in responses)
    assert [event.event for event in answer].count("ANSWER_CHUNK") == 5
    assert answer[-1].event == "ANSWER_END"

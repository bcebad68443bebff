"""Reading raw LLM API responses through the Quart test client: bodies, frames, events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from quart import Response
from quart.typing import TestClientProtocol as Client

TIMEOUT = 5.0


async def post(
    client: Client, path: str, body: Any, headers: dict[str, str] | None = None
) -> Response:
    """POST ``body`` as JSON and read the whole response, under :data:`TIMEOUT`."""
    async with asyncio.timeout(TIMEOUT):
        response = await client.post(path, json=body, headers=headers)
        await response.get_data()
    return response


async def body_of(response: Response) -> Any:
    """The response body as JSON."""
    return json.loads(await response.get_data(as_text=True))


async def stream_frames(client: Client, path: str, body: Any) -> list[list[str]]:
    """The lines of every frame (split at blank lines) of a whole 200 event stream."""
    response = await post(client, path, body)
    assert response.status_code == 200, await response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    text = await response.get_data(as_text=True)
    assert text.endswith("\n\n")
    return [frame.split("\n") for frame in text[:-2].split("\n\n")]


def payload(line: str) -> dict[str, Any]:
    """The JSON of a ``data:`` line, checked to be compact one-line JSON."""
    assert line.startswith("data: "), line
    raw = line.removeprefix("data: ")
    value: dict[str, Any] = json.loads(raw)
    assert raw == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def openai_chunks(frames: list[list[str]]) -> list[dict[str, Any]]:
    """The chunks of an OpenAI stream: one ``data:`` line a frame, ``[DONE]`` last."""
    assert all(len(frame) == 1 for frame in frames), frames
    assert frames[-1] == ["data: [DONE]"]
    return [payload(frame[0]) for frame in frames[:-1]]


def named_events(frames: list[list[str]]) -> list[tuple[str, dict[str, Any]]]:
    """``(event, data)`` for every frame; each is ``event: X`` then ``data: {"type": X, ...}``
    (Anthropic's and the Responses API's framing)."""
    events = []
    for frame in frames:
        assert len(frame) == 2, frame
        assert frame[0].startswith("event: ")
        name = frame[0].removeprefix("event: ")
        data = payload(frame[1])
        assert next(iter(data)) == "type"
        assert data["type"] == name
        events.append((name, data))
    return events

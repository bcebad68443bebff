"""Reading the server's HTTP replies: an error status as one line, a stream as SSE events."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from .pieces import RequestFailed
from .sse_frames import SseEvent, SseParser


def error_message(response: httpx.Response) -> str:
    """A one-line reason from an error response in any of the server's error shapes."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text.strip()[:200]}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # OpenAI and Anthropic
        return f"HTTP {response.status_code}: {error.get('message', error)}"
    if isinstance(body, dict) and "message" in body:  # the chat page's {"error", "message"}
        return f"HTTP {response.status_code} {body.get('error')}: {body['message']}"
    return f"HTTP {response.status_code}: {body}"


async def check_reply(response: httpx.Response) -> None:
    if response.status_code >= 400:
        await response.aread()
        raise RequestFailed(error_message(response))


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """The events of a streaming response, as they arrive."""
    parser = SseParser()
    async for chunk in response.aiter_raw():
        for event in parser.feed(chunk):
            yield event

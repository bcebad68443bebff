"""What the LLM APIs send back: a JSON body, or an event stream that the answer paces."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from quart import Response

from ..streaming.playback import coalesced

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    """``body`` as JSON, keys in the order given (as the real APIs send them).

    A lone surrogate (never let in by :func:`read_json_object`) would become U+FFFD, as in
    the event streams, rather than fail the response.
    """
    text = json.dumps(body, ensure_ascii=False)
    return Response(
        text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        status=status,
        content_type="application/json",
    )


def compact_json(body: Mapping[str, Any]) -> str:
    """One-line JSON for an SSE ``data:`` field."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


async def answer_response(
    stream: bool,
    whole: Callable[[], Awaitable[Mapping[str, Any]]],
    frames: Callable[[], AsyncIterator[bytes]],
    headers: Mapping[str, str],
) -> Response:
    """The whole answer as JSON, or its event stream (paced by the answer, bounded by
    ``stream.answer_timeout``, so without Quart's response timeout)."""
    if not stream:
        response = json_response(await whole())
        response.headers.update(headers)
        return response
    return event_stream_response(frames(), headers)


def event_stream_response(
    frames: AsyncIterator[bytes], headers: Mapping[str, str] | None = None
) -> Response:
    """A 200 ``text/event-stream`` of ``frames`` (coalesced into fewer writes), never cut by
    Quart's response timeout: the answer paces it, and ``stream.answer_timeout`` bounds it."""
    response = Response(coalesced(frames), status=200, headers={**SSE_HEADERS, **(headers or {})})
    response.timeout = None
    return response

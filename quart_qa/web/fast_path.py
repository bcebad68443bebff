"""The two hot endpoints served straight on ASGI, ahead of Quart's request machinery.

An idle stream is most of what the server holds: through Quart each one costs a request
object, a request context and two tasks (about 8 KiB, measured), and every frame passes
through Quart's response loop. A burst of questions is what saturates it: Quart's request
handling is about a quarter of each ask. This layer serves the common, well-formed case of
``GET /qa/connect/<user_id>`` and ``POST /qa/ask/<user_id>`` with the same code as the
Quart routes (:func:`open_event_stream`, :func:`accept_question`, the same pydantic model).
Anything else goes to Quart unchanged: token auth, CORS, a bad user id, and every request
it cannot accept as it is (its body is replayed), so every error keeps one implementation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable
from urllib.parse import parse_qs

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    HTTPScope,
    Scope,
)
from pydantic import ValidationError
from quart import Quart

from ..streaming.event_stream import EventStream
from ..streaming.metrics import Metrics
from ..streaming.refusals import Refused
from .asgi import header, is_json, read_body, replaying
from .asking import accept_question
from .errors import ApiError
from .models import QuestionRequest
from .refusals import count_refusal, refusal_error
from .state import get_state
from .stream_opening import SSE_HEADERS, open_event_stream

CONNECT_PATH = re.compile(r"/qa/connect/([A-Za-z0-9_-]{1,64})")
ASK_PATH = re.compile(r"/qa/ask/([A-Za-z0-9_-]{1,64})")
RAW_SSE_HEADERS = [(name.lower().encode(), value.encode()) for name, value in SSE_HEADERS.items()]


async def _send_json(send: ASGISendCallable, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _last_event_id(scope: HTTPScope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"last-event-id" and value:
            return value.decode("latin-1")
    query = scope["query_string"]
    if query:
        values = parse_qs(query.decode("latin-1")).get("last_event_id")
        if values:
            return str(values[0])
    return None


async def _send_error(send: ASGISendCallable, error: ApiError, metrics: Metrics) -> None:
    count_refusal(metrics, error)
    body = json.dumps({"error": error.code, "message": error.message}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _watch_for_disconnect(receive: ASGIReceiveCallable, stream: EventStream) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            stream.client_gone()
            return


class FastPath:
    """ASGI middleware in front of the Quart app's ``asgi_app``."""

    def __init__(self, app: Quart, inner: ASGIFramework) -> None:
        self._app = app
        self._inner = inner

    def _eligible(self) -> bool:
        settings = get_state(self._app).settings
        return settings.auth.mode == "none" and not settings.cors.allow_origins

    def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> Awaitable[None]:
        # A plain function handing back the coroutine that serves the request: no frame of
        # its own kept alive under every open stream (memory per idle connection).
        if scope["type"] == "http" and self._eligible():
            if scope["method"] == "GET":
                match = CONNECT_PATH.fullmatch(scope["path"])
                if match is not None:
                    return self._serve(match.group(1), scope, receive, send)
            elif scope["method"] == "POST":
                match = ASK_PATH.fullmatch(scope["path"])
                if match is not None:
                    return self._ask(match.group(1), scope, receive, send)
        return self._inner(scope, receive, send)

    async def _ask(
        self, user_id: str, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        state = get_state(self._app)
        question = None
        messages: list[ASGIReceiveEvent] = []
        if is_json(header(scope, b"content-type")):
            messages, body = await read_body(receive, state.settings.limits.max_body_bytes)
            if body is not None:
                with contextlib.suppress(ValidationError):
                    question = QuestionRequest.model_validate_json(body).question
        if question is None:  # not JSON, too big, malformed, invalid: Quart says exactly why
            await self._inner(scope, replaying(messages, receive), send)
            return
        try:
            accepted = await accept_question(state, user_id, question)
        except ApiError as error:
            await _send_error(send, error, state.metrics)
            return
        except Refused as refusal:
            await _send_error(send, refusal_error(refusal, state.settings), state.metrics)
            return
        await _send_json(send, 202, accepted.model_dump_json().encode())

    async def _serve(
        self, user_id: str, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        state = get_state(self._app)
        try:
            client = scope.get("client")
            address = client[0] if client else None
            stream = await open_event_stream(state, user_id, _last_event_id(scope), address)
        except ApiError as error:
            await _send_error(send, error, state.metrics)
            return
        except Refused as refusal:
            await _send_error(send, refusal_error(refusal, state.settings), state.metrics)
            return
        watcher = asyncio.get_running_loop().create_task(_watch_for_disconnect(receive, stream))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": RAW_SSE_HEADERS})
            async for frames in stream:
                await send({"type": "http.response.body", "body": frames, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await stream.aclose()


def install_fast_path(app: Quart) -> None:
    """Put :class:`FastPath` in front of ``app``'s ASGI handling."""
    app.asgi_app = FastPath(app, app.asgi_app)  # type: ignore[method-assign, assignment]

"""``GET /qa/connect/<user_id>`` served straight on ASGI, ahead of Quart's request machinery.

An idle stream is most of what the server holds: through Quart each one costs a request
object, a request context and two tasks (about 12 KiB, measured), and every frame passes
through Quart's response loop. This layer serves the common case with the same stream
(:func:`open_event_stream`, shared with the Quart route) from one task and a small watcher.
Everything else, including a connect it cannot vouch for (token auth, CORS, a bad user id),
goes to Quart unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from urllib.parse import parse_qs

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
)
from quart import Quart

from .errors import ApiError
from .event_stream import EventStream
from .state import get_state
from .stream_opening import SSE_HEADERS, open_event_stream

CONNECT_PATH = re.compile(r"/qa/connect/([A-Za-z0-9_-]{1,64})")
RAW_SSE_HEADERS = [(name.lower().encode(), value.encode()) for name, value in SSE_HEADERS.items()]


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


async def _send_error(send: ASGISendCallable, error: ApiError) -> None:
    body = json.dumps({"error": error.code, "message": error.message}, ensure_ascii=False)
    headers = [(b"content-type", b"application/json")]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode(), "more_body": False})


async def _watch_for_disconnect(receive: ASGIReceiveCallable, stream: EventStream) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            stream.client_gone()
            return


class ConnectFastPath:
    """ASGI middleware in front of the Quart app's ``asgi_app``."""

    def __init__(self, app: Quart, inner: ASGIFramework) -> None:
        self._app = app
        self._inner = inner

    def _eligible(self) -> bool:
        settings = get_state(self._app).settings
        return settings.auth.mode == "none" and not settings.cors.allow_origins

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = CONNECT_PATH.fullmatch(scope["path"])
            if match is not None and self._eligible():
                await self._serve(match.group(1), scope, receive, send)
                return
        await self._inner(scope, receive, send)

    async def _serve(
        self, user_id: str, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        try:
            stream = await open_event_stream(get_state(self._app), user_id, _last_event_id(scope))
        except ApiError as error:
            await _send_error(send, error)
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


def install_fast_connect(app: Quart) -> None:
    """Put :class:`ConnectFastPath` in front of ``app``'s ASGI handling."""
    app.asgi_app = ConnectFastPath(app, app.asgi_app)  # type: ignore[method-assign]

"""Streamed LLM requests served straight on ASGI, ahead of Quart (as ``/qa/connect`` is).

A streamed completion is what a load test sends by the thousand: through Quart each one
costs a request object and context, the route dispatch and Quart's response loop around
every frame. This layer serves the common, well-formed case of every streamed LLM dialect
(``POST /v1/chat/completions``, ``/v1/messages`` and ``/v1/responses`` with ``"stream":
true``; the AI SDK's UI message stream and AG-UI at their ``[frontends]`` paths) with the
same code as the Quart routes (each dialect's ``begin_*`` and ``frames``). Everything else
goes to Quart with the body replayed: token auth, CORS, a non-streamed request, and every
request that would be refused (bad JSON or fields, unknown model, over the rate limit), so
every error keeps its one implementation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
)
from quart import Quart

from ..settings.frontends import FrontendSettings
from ..streaming.playback import coalesced
from ..web.asgi import header, is_json, read_body, replaying
from ..web.errors import ApiError
from .access import admit, caller_of, key_of
from .agui import begin_agent_run
from .ai_sdk import begin_ui_message_stream
from .anthropic_run import begin_message
from .json_body import parse_json_object
from .openai_chat_run import begin_chat_completion
from .responses_run import begin_response
from .state import LlmState, get_llm_state


class Stream(Protocol):
    """What a dialect's ``begin_*`` gives: is it streamed, its headers and frames."""

    @property
    def streamed(self) -> bool: ...

    def stream_headers(self) -> dict[str, str]: ...

    def frames(self) -> Any: ...


Begin = Callable[[LlmState, dict[str, Any]], Awaitable[Stream]]

BEGIN: dict[str, Begin] = {
    "/v1/chat/completions": begin_chat_completion,
    "/v1/messages": begin_message,
    "/v1/responses": begin_response,
}


def begin_table(frontends: FrontendSettings) -> dict[str, Begin]:
    """Each streamed dialect's ``begin_*`` by path: the APIs' and the front-end protocols'
    (where ``[frontends]`` mounts them)."""
    table = dict(BEGIN)
    if frontends.ai_sdk_path:
        table[frontends.ai_sdk_path] = begin_ui_message_stream
    if frontends.agui_path:
        table[frontends.agui_path] = begin_agent_run
    return table


def _presented_key(scope: HTTPScope) -> str | None:
    authorization = header(scope, b"authorization") or b""
    x_api_key = header(scope, b"x-api-key") or b""
    return key_of(authorization.decode("latin-1"), x_api_key.decode("latin-1"))


async def _cancel_on_disconnect(
    receive: ASGIReceiveCallable, task: asyncio.Task[Any], gone: asyncio.Event
) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            task.cancel()
            return


class LlmFastPath:
    """ASGI middleware in front of the app's other ASGI handling."""

    def __init__(self, app: Quart, inner: ASGIFramework) -> None:
        self._app = app
        self._inner = inner
        self._begin = begin_table(get_llm_state(app).settings.frontends)
        self.served = 0  # streams served here rather than by Quart

    def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> Awaitable[None]:
        # Hands back the coroutine to await: no frame of this layer under every stream.
        if scope["type"] == "http" and scope["method"] == "POST":
            begin = self._begin.get(scope["path"])
            if begin is not None:
                return self._serve(begin, scope, receive, send)
        return self._inner(scope, receive, send)

    async def _serve(
        self,
        begin: Begin,
        scope: HTTPScope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
    ) -> None:
        state = get_llm_state(self._app)
        settings = state.settings
        stream = None
        messages: list[Any] = []
        eligible = settings.auth.mode == "none" and not settings.cors.allow_origins
        if eligible and is_json(header(scope, b"content-type")):
            messages, body = await read_body(receive, settings.limits.max_body_bytes)
            address = (scope.get("client") or ("<local>",))[0]  # as Quart's remote_addr
            caller = caller_of(settings.auth, _presented_key(scope), address)
            # Admission is checked before the answer is planned (as the route does), so a
            # request the route will refuse uses up no scripted answer.
            if body is not None and _admissible(state, caller):
                stream = await _begun(begin, state, body)
        if stream is not None:
            try:  # counted now; refused only if others got in while the answer was planned
                state.admit_stream()
                admit(state.rate_limiter, settings.limits.asks_per_minute, caller)
            except ApiError:
                stream = None  # nothing counted: Quart refuses it again, in the dialect's shape
        if stream is None:
            await self._inner(scope, replaying(messages, receive), send)
            return
        self.served += 1
        await _stream(stream, receive, send)


def _admissible(state: LlmState, caller: str) -> bool:
    """Whether the route would admit a stream of ``caller`` now (nothing counted)."""
    try:
        state.admit_stream()
    except ApiError:
        return False
    return state.rate_limiter.wait(caller) == 0


async def _begun(begin: Begin, state: LlmState, body: bytes) -> Stream | None:
    """The stream ``begin`` plans for ``body``; None for all Quart must answer."""
    try:
        stream = await begin(state, parse_json_object(body))
    except Exception:  # refused, or a bug: Quart answers it in the dialect's shape
        return None
    return stream if stream.streamed else None


async def _stream(stream: Stream, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    task = asyncio.current_task()
    assert task is not None
    gone = asyncio.Event()
    watcher = asyncio.get_running_loop().create_task(_cancel_on_disconnect(receive, task, gone))
    headers = [
        (name.lower().encode(), value.encode()) for name, value in stream.stream_headers().items()
    ]
    try:
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        async for frames in coalesced(stream.frames()):
            await send({"type": "http.response.body", "body": frames, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except asyncio.CancelledError:
        if not gone.is_set():
            raise
        task.uncancel()  # the client went away: the stream ends here, quietly
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def install_llm_fast_path(app: Quart) -> None:
    """Put :class:`LlmFastPath` in front of ``app``'s ASGI handling."""
    app.asgi_app = LlmFastPath(app, app.asgi_app)  # type: ignore[method-assign, assignment]

"""The ASGI layer around the app that every API and chat request passes through.

It gives the answering core its per-request hooks (the request's facts for scoped scripts,
the wire for stream faults), carries out a dropped connection, and, with ``[admin]``
enabled, writes the request journal: the parsed body, the status, every frame sent and
whether the client left early. Requests the journal does not cover (the page, static
files, health, the admin API) pass straight through, as do the chat-page endpoints while
there is nothing to record, so the fast path stays fast.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from typing import Any

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPScope,
    Scope,
)
from quart import Quart

from ..settings.scripts import SCENARIO_HEADER
from ..streaming.journal import CURRENT_ENTRY, JournalEntry, JournalStore, redact
from ..streaming.request_facts import CURRENT_FACTS, RequestFacts
from ..streaming.wire import CURRENT_WIRE, StreamDropped, WireControl, corrupt

log = logging.getLogger("quart_qa.wire")

UNRECORDED_PREFIXES = ("/_qa/", "/static/", "/openapi.json", "/docs", "/redoc")
UNRECORDED_PATHS = frozenset({"/", "/healthz", "/metrics", "/favicon.ico"})
CHAT_PREFIX = "/qa/"


def dialect_of(path: str) -> str:
    """The wire format a path speaks, as the journal names it."""
    if path.startswith(CHAT_PREFIX):
        return "chat"
    if path.startswith("/v1/messages"):
        return "anthropic"
    if path.startswith("/v1/"):
        return "openai"
    return "other"


def recorded(path: str) -> bool:
    """True for the API and chat endpoints (everything but the page, files, health, admin)."""
    return path not in UNRECORDED_PATHS and not path.startswith(UNRECORDED_PREFIXES)


def _headers(scope: HTTPScope) -> dict[str, str]:
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _presented_key(headers: dict[str, str]) -> str | None:
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return headers.get("x-api-key", "").strip() or None


def _chat_user(path: str) -> str | None:
    parts = path.split("/")
    return parts[3] if len(parts) == 4 and path.startswith(CHAT_PREFIX) else None


def _parsed(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return body.decode("utf-8", errors="replace")


class Recorder:
    """ASGI middleware: request facts, stream faults on the wire, and the journal."""

    def __init__(self, inner: ASGIFramework, journal: JournalStore | None, body_limit: int) -> None:
        self._inner = inner
        self._journal = journal
        self._body_limit = body_limit

    def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> Awaitable[None]:
        # A plain function handing back the coroutine to await: a request passed straight
        # through keeps no frame of this layer alive (memory per idle stream).
        if scope["type"] != "http" or not recorded(scope["path"]):
            return self._inner(scope, receive, send)
        if self._journal is None and scope["path"].startswith(CHAT_PREFIX):
            return self._inner(scope, receive, send)  # chat faults act on the broadcast
        return self._handle(scope, receive, send)

    async def _handle(
        self, scope: HTTPScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        path = scope["path"]
        headers = _headers(scope)
        key = _presented_key(headers)
        facts = RequestFacts(headers, _chat_user(path), key)
        wire = WireControl()
        journal = self._journal
        entry: JournalEntry | None = None
        if journal is not None:
            entry = journal.open(scope["method"], path, dialect_of(path))
            entry.user = facts.user
            entry.key = redact(key) if key else None
            entry.scenario = headers.get(SCENARIO_HEADER)
        body = bytearray()
        limit = self._body_limit
        finished = False  # the last body message went out

        async def receiving() -> ASGIReceiveEvent:
            message = await receive()
            if entry is not None:
                if message["type"] == "http.request" and len(body) <= limit:
                    body.extend(message.get("body", b""))
                elif message["type"] == "http.disconnect" and not finished:
                    entry.client_left = True
            return message

        async def sending(message: ASGISendEvent) -> None:
            nonlocal finished
            if message["type"] == "http.response.body":
                finished = not message.get("more_body", False)
                chunk = message.get("body", b"")
                if wire.corrupt_next and chunk:
                    broken = corrupt(chunk)
                    if broken is not None:
                        wire.corrupt_next = False
                        message = {**message, "body": broken}
                        chunk = broken
                if entry is not None and chunk:
                    entry.add_frame(chunk)
                if finished:  # kept before the client can see the end of the response
                    await record()
            elif message["type"] == "http.response.start" and entry is not None:
                entry.status = message["status"]
            await send(message)

        async def record() -> None:
            if entry is not None and journal is not None:
                entry.body = _parsed(bytes(body[:limit]))
                if facts.user is not None:
                    entry.user = facts.user
                await journal.close(entry, started)

        tokens = (CURRENT_FACTS.set(facts), CURRENT_WIRE.set(wire), CURRENT_ENTRY.set(entry))
        started = time.monotonic()
        try:
            await self._inner(scope, receiving, sending)
        except StreamDropped:
            log.info("fault: connection dropped path=%s", path)
            if entry is not None:
                entry.fault = entry.fault or "disconnect"
        except asyncio.CancelledError:
            if entry is not None:
                entry.client_left = True
            raise
        finally:
            CURRENT_ENTRY.reset(tokens[2])
            CURRENT_WIRE.reset(tokens[1])
            CURRENT_FACTS.reset(tokens[0])
            if entry is not None and not entry.done:  # ended without its last body message
                await asyncio.shield(record())


def install_recorder(app: Quart, journal: JournalStore | None, body_limit: int) -> None:
    """Put :class:`Recorder` in front of everything else ``app`` serves."""
    app.asgi_app = Recorder(app.asgi_app, journal, body_limit)  # type: ignore[method-assign, assignment]

"""Connection hygiene in front of every route: bodies on a deadline, honest keep-alive.

Hypercorn waits for a request body as long as the client likes, and when a response is
complete before its request body is, it closes the connection without saying so: a pooled
client then sends its next request into a dead connection. This ASGI layer, outermost:

- gives every request body ``limits.body_timeout`` seconds from the request's start; a body
  still incomplete then is answered ``408 body_timeout`` and the connection is closed (over
  HTTP/2 and 3, the stream ends; the rest of this list is about HTTP/1.x);
- before the last byte of a response, waits (within the same deadline) for the rest of a
  request body the route did not read, so the connection stays reusable;
- says ``Connection: close`` when the connection cannot be reused: a body too large to wait
  for, a chunked body the route left unread, or a request carrying both ``Content-Length``
  and ``Transfer-Encoding`` (RFC 9112, section 6.1: the server must close after responding);
- keeps the exchanges in flight, so shutdown can wait for them and then cut the ones whose
  client stopped reading (Hypercorn would otherwise wait forever to flush to them).
"""

from __future__ import annotations

import asyncio
import json
from asyncio import BaseTransport
from collections.abc import Callable

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

from ..streaming.idle import IdleWaiters

CLOSE_HEADER = (b"connection", b"close")
HTTP1 = ("1.0", "1.1")


class BodyTimedOut(Exception):
    """The request body did not arrive within ``limits.body_timeout``."""


def _transport_of(send: ASGISendCallable) -> BaseTransport | None:
    """The socket transport under Hypercorn's ``send`` (None if its insides differ).

    ``HTTPStream.app_send`` -> ``H11Protocol.stream_send`` -> ``TCPServer.protocol_send``,
    whose server holds the asyncio stream writer: the one way to abort a connection whose
    client stopped reading, since closing it waits until the pending bytes are sent.
    """
    owner = getattr(send, "__self__", None)
    for _ in range(4):
        writer = getattr(owner, "writer", None)
        if writer is not None:
            transport = getattr(writer, "transport", None)
            return transport if isinstance(transport, BaseTransport) else None
        owner = getattr(getattr(owner, "send", None), "__self__", None)
    return None


class _Exchange:
    """One request and its response, as seen by :class:`ConnectionGuard`."""

    __slots__ = (
        "_body_arrived",
        "_body_done",
        "_deadline",
        "_http1",
        "_receive",
        "_send",
        "closing",
        "must_close",
        "started",
        "unread_too_big",
    )

    def __init__(
        self,
        scope: HTTPScope,
        receive: ASGIReceiveCallable,
        send: ASGISendCallable,
        deadline: float,
        max_body_bytes: int,
    ) -> None:
        self._receive = receive
        self._send = send
        self._deadline = deadline
        # Whether the request body is whole; the event exists only while a response waits
        # for it (most exchanges never need one: memory per idle stream).
        self._body_done = False
        self._body_arrived: asyncio.Event | None = None
        self.started = False
        self.closing = False
        self._http1 = scope["http_version"] in HTTP1
        length: int | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.strip().isdigit() else None
            elif name == b"transfer-encoding":
                chunked = True
        if self._http1 and not chunked and not length:
            self._body_done = True  # HTTP/2 and 3 frame bodies themselves: the receive says
        # Both framings at once: whatever is done with the body, close after responding.
        self.must_close = self._http1 and chunked and length is not None
        # An unread body too big (or of unknown size) to wait for: close rather than drain.
        self.unread_too_big = self._http1 and (chunked or (length or 0) > max_body_bytes)

    @property
    def needs_nothing(self) -> bool:
        """An HTTP/1.x request with no body and one framing (a stream's ``GET``): neither
        ``receive`` nor ``send`` would change a message, so the app may take Hypercorn's own."""
        return self._http1 and self._body_done and not self.must_close

    async def receive(self) -> ASGIReceiveEvent:
        """The app's ``receive``: body messages only until the deadline."""
        if self._body_done:
            return await self._receive()
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            raise BodyTimedOut from None
        if message["type"] != "http.request" or not message.get("more_body", False):
            self._body_done = True
            if self._body_arrived is not None:
                self._body_arrived.set()
        return message

    async def send(self, message: ASGISendEvent) -> None:
        """The app's ``send``: announces a close, or lets an unread body arrive first."""
        if message["type"] == "http.response.start":
            self.started = True
            if self.must_close or (self.unread_too_big and not self._body_done):
                self.closing = True
                message = {**message, "headers": [*message.get("headers", ()), CLOSE_HEADER]}
        elif (
            self._http1
            and message["type"] == "http.response.body"
            and not message.get("more_body", False)
            and not self.closing
            and not self._body_done
        ):
            # Hypercorn reuses the connection only if the request is whole when the response
            # is; the route's own receiver (Quart's, or ours) takes the rest meanwhile.
            if self._body_arrived is None:
                self._body_arrived = asyncio.Event()
            try:
                async with asyncio.timeout_at(self._deadline):
                    await self._body_arrived.wait()
            except TimeoutError:
                pass
        await self._send(message)

    async def send_timeout(self, seconds: float) -> None:
        """``408 body_timeout``, and close."""
        body = json.dumps(
            {
                "error": "body_timeout",
                "message": f"the request body did not arrive within {seconds:g} s",
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if self._http1:  # HTTP/2 and 3 end just this stream
            headers.append(CLOSE_HEADER)
        await self._send({"type": "http.response.start", "status": 408, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    def cut(self) -> bool:
        """Abort the connection under this exchange; False when it cannot be found."""
        transport = _transport_of(self._send)
        if transport is None:
            return False
        transport.abort()  # type: ignore[attr-defined]
        return True


class InFlight:
    """The exchanges being served now: shutdown waits for them, then cuts the rest."""

    def __init__(self) -> None:
        self._exchanges: set[_Exchange] = set()
        self._idle = IdleWaiters()

    def __len__(self) -> int:
        return len(self._exchanges)

    def add(self, exchange: _Exchange) -> None:
        """An exchange began."""
        self._exchanges.add(exchange)

    def discard(self, exchange: _Exchange) -> None:
        """An exchange ended."""
        self._exchanges.discard(exchange)
        if not self._exchanges:
            self._idle.wake()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is in flight (True) or ``timeout`` seconds pass (False)."""
        return not self._exchanges or await self._idle.wait(timeout)

    def cut_all(self) -> int:
        """Abort the connection of every exchange still in flight; how many were cut."""
        return sum(exchange.cut() for exchange in tuple(self._exchanges))


class ConnectionGuard:
    """ASGI middleware: see the module docstring."""

    def __init__(
        self,
        inner: ASGIFramework,
        in_flight: InFlight,
        body_timeout: float,
        max_body_bytes: int,
        on_timeout: Callable[[], None] = lambda: None,
    ) -> None:
        self._inner = inner
        self._in_flight = in_flight
        self._body_timeout = body_timeout
        self._max_body_bytes = max_body_bytes
        self._on_timeout = on_timeout

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self._body_timeout
        exchange = _Exchange(scope, receive, send, deadline, self._max_body_bytes)
        self._in_flight.add(exchange)
        try:
            if exchange.needs_nothing:  # no wrapper on each frame of a long stream
                await self._inner(scope, receive, send)
            else:
                await self._inner(scope, exchange.receive, exchange.send)
        except BodyTimedOut:
            self._on_timeout()
            if not exchange.started:
                await exchange.send_timeout(self._body_timeout)
        finally:
            self._in_flight.discard(exchange)


def install_connection_guard(
    app: Quart,
    in_flight: InFlight,
    body_timeout: float,
    max_body_bytes: int,
    on_timeout: Callable[[], None],
) -> None:
    """Put :class:`ConnectionGuard` in front of everything ``app`` serves."""
    guard = ConnectionGuard(app.asgi_app, in_flight, body_timeout, max_body_bytes, on_timeout)
    app.asgi_app = guard  # type: ignore[method-assign]
    app.config["BODY_TIMEOUT"] = body_timeout  # Quart's own wait for a body, should it come first

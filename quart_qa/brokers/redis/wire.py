"""A lean pipelined RESP connection for the hot path: every answer's next event.

redis-py spends more time per command in Python (packing, pool, retries, timeouts)
than Redis spends running our script. Emits are all the same ``EVALSHA`` with mostly the
same arguments, so they are packed from cached pieces, written in one batch, and their
replies parsed by hiredis straight off the socket. Used for ``redis://`` and ``unix://``
URLs; anything else (TLS) goes through redis-py.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError


def bulk(value: str | bytes) -> bytes:
    """One RESP bulk string."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "replace")
    return b"$%d\r\n%s\r\n" % (len(raw), raw)


def supported(url: str) -> bool:
    """Whether :class:`WireConnection` can serve ``url`` (plain TCP or a Unix socket)."""
    return url.startswith(("redis://", "unix://"))


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader(encoding="utf-8")
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[tuple[int, list[Any], asyncio.Future[list[Any]]]] = deque()
        self.lost: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiting = self.waiting
        while waiting:
            reply = reader.gets()
            if reply is False:
                return
            count, replies, future = waiting[0]
            replies.append(reply)
            if len(replies) == count:
                waiting.popleft()
                if not future.done():
                    future.set_result(replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = RedisConnectionError(f"connection to Redis lost: {exc or 'closed'}")
        while self.waiting:
            _, _, future = self.waiting.popleft()
            if not future.done():
                future.set_exception(self.lost)


class WireConnection:
    """One connection; :meth:`execute` sends packed commands and returns their replies."""

    def __init__(self, url: str, connect_timeout: float) -> None:
        self._options = parse_url(url)
        self._timeout = connect_timeout
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Lock | None = None

    async def _connect(self) -> _Protocol:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            protocol = self._protocol
            if protocol is not None and protocol.lost is None:
                return protocol
            loop = asyncio.get_running_loop()
            options = self._options
            try:
                async with asyncio.timeout(self._timeout):
                    if "path" in options:
                        _, protocol = await loop.create_unix_connection(_Protocol, options["path"])
                    else:
                        _, protocol = await loop.create_connection(
                            _Protocol, options.get("host", "localhost"), options.get("port", 6379)
                        )
                    self._protocol = protocol
                    setup = []
                    if options.get("password"):
                        user = options.get("username")
                        setup.append(
                            ("AUTH", user, options["password"])
                            if user
                            else ("AUTH", options["password"])
                        )
                    if options.get("db"):
                        setup.append(("SELECT", str(options["db"])))
                    if setup:
                        packed = b"".join(
                            b"*%d\r\n" % len(c) + b"".join(bulk(a) for a in c) for c in setup
                        )
                        for reply in await self._send(protocol, packed, len(setup)):
                            if isinstance(reply, hiredis.ReplyError):
                                raise ResponseError(str(reply))
            except (OSError, TimeoutError) as error:
                self._protocol = None
                raise RedisConnectionError(f"cannot connect to Redis: {error}") from error
            return protocol

    async def _send(self, protocol: _Protocol, packed: bytes, count: int) -> list[Any]:
        if protocol.lost is not None or protocol.transport is None:
            raise protocol.lost or RedisConnectionError("not connected")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        protocol.waiting.append((count, [], future))
        protocol.transport.write(packed)
        return await future

    async def execute(self, packed: bytes, count: int) -> list[Any]:
        """Send ``count`` packed commands at once; their replies (errors as exceptions in place)."""
        protocol = await self._connect()
        replies = await self._send(protocol, packed, count)
        return [
            _error(reply) if isinstance(reply, hiredis.ReplyError) else reply for reply in replies
        ]

    def close(self) -> None:
        """Close the connection (pending commands fail)."""
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()


def _error(reply: hiredis.ReplyError) -> ResponseError:
    message = str(reply)
    return NoScriptError(message) if message.startswith("NOSCRIPT") else ResponseError(message)

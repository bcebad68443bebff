"""A lean HTTP/1.1 + SSE load client on raw asyncio protocols.

No HTTP library: each stream is one ``asyncio.Protocol`` that parses the response
head, undoes ``Transfer-Encoding: chunked`` and splits SSE events itself, with one
clock reading per ``data_received`` call. It records only what the scenarios need
(chunk arrival times, heartbeat and event counts), so the client stays far cheaper
than the server it loads.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import cast

HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 64 * 1024


class HttpError(Exception):
    """The server answered something this client cannot use."""


def parse_head(head: bytes) -> tuple[int, dict[bytes, bytes]]:
    """Status code and lower-cased headers of an HTTP/1.x response head."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
        raise HttpError(f"not an HTTP/1.x status line: {lines[0]!r}")
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return int(rest[:3]), headers


def split_events(pending: bytes, data: bytes) -> tuple[list[bytes], bytes]:
    """The whole SSE event blocks in ``pending + data`` (line ends made LF), and the rest."""
    buf = pending + data if pending else data
    if b"\r" in buf:
        buf = buf.replace(b"\r\n", b"\n")
    if b"\n\n" not in buf:
        return [], buf
    blocks = buf.split(b"\n\n")
    rest = blocks.pop()
    return blocks, rest


class ChunkedDecoder:
    """Incremental decoder for ``Transfer-Encoding: chunked`` bodies."""

    __slots__ = ("_left", "_pending", "_skip", "done")

    def __init__(self) -> None:
        self._pending = b""
        self._left = 0  # payload bytes left in the current chunk
        self._skip = 0  # CRLF bytes left after the current chunk
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """Payload carried by ``data`` (and any partial size line kept from before)."""
        buf = self._pending + data if self._pending else data
        size = len(buf)
        pos = 0
        out: list[bytes] = []
        while pos < size and not self.done:
            if self._left:
                take = min(self._left, size - pos)
                out.append(buf[pos : pos + take])
                self._left -= take
                pos += take
                if not self._left:
                    self._skip = 2
            elif self._skip:
                take = min(self._skip, size - pos)
                self._skip -= take
                pos += take
            else:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                length = int(buf[pos:eol].partition(b";")[0], 16)
                pos = eol + 2
                if length:
                    self._left = length
                else:
                    self.done = True
        self._pending = buf[pos:] if not self.done else b""
        return b"".join(out)


class SseStream(asyncio.Protocol):
    """One ``GET /qa/connect/<user_id>`` stream, timing the events it receives.

    ``connected`` resolves True on the CONNECTED event (False if the stream fails
    first); ``answered`` resolves True on ANSWER_END and False on ERROR or close.
    """

    def __init__(self, request: bytes, loop: asyncio.AbstractEventLoop) -> None:
        self.connected: asyncio.Future[bool] = loop.create_future()
        self.answered: asyncio.Future[bool] = loop.create_future()
        self.chunk_times: list[float] = []
        self.heartbeats = 0
        self.status = 0
        self.open = False
        self._request = request
        self._transport: asyncio.Transport | None = None
        self._head = b""
        self._decoder: ChunkedDecoder | None = None
        self._body_started = False
        self._sse = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.open = True
        self._transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        for future in (self.connected, self.answered):
            if not future.done():
                future.set_result(False)

    def close(self) -> None:
        """Hang up (the server sees a disconnect)."""
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self._body_started:
            data = self._read_head(data)
            if not data:
                return
        if self._decoder is not None:
            data = self._decoder.feed(data)
        blocks, self._sse = split_events(self._sse, data)
        for block in blocks:
            if block:
                self._on_event(block, now)

    def _read_head(self, data: bytes) -> bytes:
        head = self._head + data
        end = head.find(HEAD_END)
        if end < 0:
            if len(head) > MAX_HEAD_BYTES:
                self._fail()
            self._head = head
            return b""
        self._body_started = True
        self.status, headers = parse_head(head[:end])
        content_type = headers.get(b"content-type", b"")
        if self.status != 200 or not content_type.startswith(b"text/event-stream"):
            self._fail()
            return b""
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self._decoder = ChunkedDecoder()
        return head[end + len(HEAD_END) :]

    def _fail(self) -> None:
        self.close()
        self.connection_lost(None)

    def _on_event(self, block: bytes, now: float) -> None:
        name = b""
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip()
                break
        if not name:
            if block.startswith(b":"):
                self.heartbeats += 1
            return
        if name == b"ANSWER_CHUNK":
            self.chunk_times.append(now)
        elif name == b"CONNECTED":
            if not self.connected.done():
                self.connected.set_result(True)
        elif name == b"ANSWER_END":
            if not self.answered.done():
                self.answered.set_result(True)
        elif name == b"ERROR" and not self.answered.done():
            self.answered.set_result(False)


async def open_stream(host: str, port: int, user_id: str) -> SseStream:
    """Connect ``user_id`` and wait for its CONNECTED event (wrap in ``asyncio.timeout``)."""
    loop = asyncio.get_running_loop()
    request = (
        f"GET /qa/connect/{user_id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    stream = SseStream(request, loop)
    try:
        await loop.create_connection(lambda: stream, host, port)
        if await stream.connected:
            return stream
    except BaseException:
        stream.close()
        raise
    stream.close()
    raise HttpError(f"stream for {user_id!r} failed (status {stream.status})")


class _Exchange(asyncio.Protocol):
    """One request on its own connection; resolves with the response status (0 on failure)."""

    def __init__(self, request: bytes, done: asyncio.Future[int]) -> None:
        self._request = request
        self._done = done
        self._buf = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(self._request)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        end = self._buf.find(HEAD_END)
        if end < 0:
            return
        status, headers = parse_head(self._buf[:end])
        length = int(headers.get(b"content-length", b"0"))
        if len(self._buf) - end - len(HEAD_END) >= length and not self._done.done():
            self._done.set_result(status)
            assert self._transport is not None
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_result(0)


async def ask(host: str, port: int, user_id: str, question: str) -> int:
    """POST a question on a new connection: the response status, or 0 if the connection failed.

    Wrap in ``asyncio.timeout``: the connection is closed on every exit path.
    """
    loop = asyncio.get_running_loop()
    body = json.dumps({"question": question}).encode()
    request = (
        f"POST /qa/ask/{user_id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body
    done: asyncio.Future[int] = loop.create_future()
    transport: asyncio.BaseTransport | None = None
    try:
        transport, _ = await loop.create_connection(lambda: _Exchange(request, done), host, port)
        return await done
    except OSError:
        return 0
    finally:
        if transport is not None:
            transport.close()

"""Hostile bytes over raw sockets against the real server, which must keep serving afterwards.

Truncated requests, huge headers, non-UTF-8 bodies, ``%00`` and raw NUL bytes in paths and
headers, and plain garbage: each gets a 4xx (or a closed connection), never a 5xx, and a
normal connect-ask-answer flow still works over a raw socket after all of them.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from quart_qa.settings.config import SEED_ANSWER_PARTS
from tests.support.live_server import ServerProcess, live_server

TIMEOUT = 5.0  # seconds for any one socket operation
CONFIG = """\
[stream]
chunk_delay = 0.01
heartbeat = 0
"""
HEADERS = b"Host: 127.0.0.1\r\nConnection: close\r\n"


@dataclass
class RawResponse:
    """One HTTP/1.1 response as read off the socket (``status`` 0: closed without one)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def error_code(self) -> str:
        """The ``error`` of our JSON error body."""
        assert self.headers.get("content-type") == "application/json", self
        code: str = json.loads(self.body)["error"]
        return code


def dechunk(data: bytes) -> bytes:
    """The body of a chunked transfer encoding (tolerating a missing end)."""
    body = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body += rest[:size]
        data = rest[size + 2 :]
    return bytes(body)


def parse_response(raw: bytes) -> RawResponse:
    if not raw:
        return RawResponse(0)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return RawResponse(int(status_line.split()[1]), headers, body)


def receive_all(sock: socket.socket) -> bytes:
    data = bytearray()
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass  # the server may drop a hostile client without a goodbye
    return bytes(data)


def exchange(port: int, request: bytes, *, close_write: bool = False) -> RawResponse:
    """Send ``request`` on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        return parse_response(receive_all(sock))


def post(path: str, body: bytes, content_type: bytes = b"application/json") -> bytes:
    head = b"POST %s HTTP/1.1\r\n%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
    return head % (path.encode(), HEADERS, content_type, len(body)) + body


def get(target: bytes, extra_headers: bytes = b"") -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\n" + HEADERS + extra_headers + b"\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = tmp_path_factory.mktemp("hostile") / "fast.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with live_server(config) as process:
        yield process


# name → (request bytes, expected status, expected JSON error code or None for hypercorn's own)
HOSTILE: dict[str, tuple[bytes, int, str | None]] = {
    "huge header": (get(b"/qa/connect/u1", b"X-Big: " + b"a" * 70_000 + b"\r\n"), 431, None),
    "big but allowed header": (
        post("/qa/cancel/u1", b"", b"text/plain\r\nX-Big: " + b"a" * 12_000),
        404,
        "nothing_running",
    ),
    "thousands of headers": (
        get(b"/qa/cancel/u1", b"".join(b"X-%d: v\r\n" % n for n in range(1000))),
        405,
        "method_not_allowed",
    ),
    "non-UTF-8 body": (post("/qa/ask/u1", b"\xff\xfe\x00{}\x80"), 400, "malformed_json"),
    "non-UTF-8 inside a JSON string": (
        post("/qa/ask/u1", b'{"question": "\xff\xfe"}'),
        400,
        "malformed_json",
    ),
    "NUL in JSON string": (
        post("/qa/ask/u1", b'{"question": "a\\u0000b"}'),
        404,  # a valid question; nobody is connected
        "not_connected",
    ),
    "lone surrogate in the question": (
        post("/qa/ask/u1", b'{"question": "a\\ud800b"}'),
        400,  # would otherwise kill the answer task: UTF-8 cannot encode it
        "invalid_question",
    ),
    "%00 in user id": (get(b"/qa/connect/a%00b"), 400, "invalid_user_id"),
    "%00 as user id": (post("/qa/ask/%00", b'{"question": "q"}'), 400, "invalid_user_id"),
    "%00 at the root": (get(b"/%00"), 404, "not_found"),
    "%00 in a static path": (get(b"/static/%00"), 404, "not_found"),
    "%FF in user id": (get(b"/qa/connect/%FF%FE"), 400, "invalid_user_id"),
    "encoded path traversal": (get(b"/static/..%2F..%2Fpyproject.toml"), 404, "not_found"),
    "raw NUL in path": (get(b"/qa/connect/a\x00b"), 400, None),
    "raw 0xFF in path": (get(b"/qa/connect/\xff"), 400, None),
    "NUL in a header": (get(b"/", b"X-A: a\x00b\r\n"), 400, None),
    "bad Content-Length": (
        b"POST /qa/ask/u1 HTTP/1.1\r\n" + HEADERS + b"Content-Length: abc\r\n\r\n",
        400,
        None,
    ),
    "TLS hello on plain HTTP": (
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64),
        400,
        None,
    ),
    "HTTP/0.9": (b"GET /\r\n\r\n", 400, None),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_request_gets_a_client_error(server: ServerProcess, name: str) -> None:
    request, status, code = HOSTILE[name]
    response = exchange(server.port, request)
    assert response.status == status, response
    if code is not None:
        assert response.error_code() == code


TRUNCATED = {
    "request line": b"GET /qa/conn",
    "headers": b"POST /qa/ask/u1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
    "body": post("/qa/ask/u1", b'{"question": "never finished"}')[:-12],
}


@pytest.mark.parametrize("name", list(TRUNCATED))
def test_truncated_request_is_dropped_without_a_server_error(
    server: ServerProcess, name: str
) -> None:
    response = exchange(server.port, TRUNCATED[name], close_write=True)
    assert response.status in {0, 400}, response  # closed, or told it was malformed


class RawEventStream:
    """``GET /qa/connect/<user>`` on a raw socket, parsed incrementally."""

    def __init__(self, port: int, user_id: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.sendall(get(f"/qa/connect/{user_id}".encode()))
        self._buffer = b""
        self._lines = SSELineDecoder()
        self._decoder = SSEDecoder()
        self._events: list[ServerSentEvent] = []
        head = self._read_until(b"\r\n\r\n")
        self.response = parse_response(head)
        assert self.response.status == 200, self.response
        assert self.response.headers["transfer-encoding"] == "chunked"

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream ended")
            self._buffer += chunk
        found, _, self._buffer = self._buffer.partition(marker)
        return found + marker

    def _next_chunk(self) -> bytes:
        size = int(self._read_until(b"\r\n")[:-2].split(b";")[0], 16)
        while len(self._buffer) < size + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream ended")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size + 2 :]
        return data

    def next_event(self) -> ServerSentEvent:
        while not self._events:
            for line in self._lines.decode(self._next_chunk().decode("utf-8")):
                event = self._decoder.decode(line)
                if event is not None:
                    self._events.append(event)
        return self._events.pop(0)

    def until(self, name: str) -> list[ServerSentEvent]:
        events = [self.next_event()]
        while events[-1].event != name:
            events.append(self.next_event())
        return events

    def close(self) -> None:
        self.sock.close()


def test_server_still_serves_a_normal_flow_after_hostile_input(server: ServerProcess) -> None:
    # A client that stalls halfway through its headers stays connected during the flow.
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as stalled:
        stalled.sendall(b"POST /qa/ask/hostile_user HTTP/1.1\r\nHost: 127.0.0.1\r\nCont")
        for request, _, _ in HOSTILE.values():
            exchange(server.port, request)
        for request in TRUNCATED.values():
            exchange(server.port, request, close_write=True)

        stream = RawEventStream(server.port, "hostile_user")
        try:
            assert stream.next_event().event == "CONNECTED"
            accepted = exchange(server.port, post("/qa/ask/hostile_user", b'{"question": "ok?"}'))
            assert accepted.status == 202, accepted
            events = stream.until("ANSWER_END")
        finally:
            stream.close()

    chunks = [event.data for event in events if event.event == "ANSWER_CHUNK"]
    assert chunks == list(SEED_ANSWER_PARTS)
    assert server.process.poll() is None
    log = server.output()
    assert "Traceback" not in log
    assert "unhandled error" not in log


def test_config_path_is_not_served(server: ServerProcess) -> None:
    for target in (b"/static/../pyproject.toml", b"/static/%2e%2e/quart_qa/auth.py"):
        response = exchange(server.port, get(target))
        assert response.status == 404, (target, response)
        assert b"[project]" not in response.body
        assert b"def authorize_request" not in response.body

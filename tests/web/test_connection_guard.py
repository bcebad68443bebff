"""Request bodies on a deadline and honest keep-alive, over real sockets to the real server."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from quart_qa.web.connection_guard import ConnectionGuard, InFlight
from tests.support.live_server import ServerProcess, live_server

BODY_TIMEOUT = 1.0
CONFIG = f"""
[stream]
chunk_delay = 0.01
heartbeat = 0

[limits]
body_timeout = {BODY_TIMEOUT}
"""
SOCKET_TIMEOUT = 5.0


def write_config(directory: Path, text: str) -> Path:
    path = directory / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with live_server(write_config(tmp_path_factory.mktemp("guard"), CONFIG)) as process:
        yield process


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a ``Content-Length`` body (or none), leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside a response body"
        body += chunk
    return int(status_line.split()[1]), headers, body


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def half_sent(path: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        'Content-Length: 100\r\n\r\n{"question'
    ).encode()


@pytest.mark.parametrize("path", ["/qa/ask/u1", "/v1/chat/completions"])
def test_a_half_sent_body_gets_408_and_a_closed_connection(
    server: ServerProcess, path: str
) -> None:
    with connect(server.port) as sock:
        started = time.monotonic()
        sock.sendall(half_sent(path))
        status, headers, body = read_response(sock)
        elapsed = time.monotonic() - started
        assert status == 408
        assert json.loads(body)["error"] == "body_timeout"
        assert headers["connection"] == "close"
        assert closed_by_server(sock)
    assert BODY_TIMEOUT * 0.9 <= elapsed < BODY_TIMEOUT + 3.0


OUT_OF_FILES_CONFIG = """
[stream]
heartbeat = 0

[limits]
body_timeout = 1.5
"""


def test_held_bodies_cannot_starve_accept_or_flood_the_log(tmp_path: Path) -> None:
    """More half-sent bodies than the process has descriptors: the log stays short, and the
    server accepts again once their time is up."""
    config = write_config(tmp_path, OUT_OF_FILES_CONFIG)
    with live_server(config, max_open_files=64) as server:
        holders = [connect(server.port) for _ in range(80)]
        try:
            for sock in holders:
                sock.sendall(half_sent("/qa/ask/u1"))
            # Accept fails (EMFILE) and asyncio retries every second until the bodies time out.
            with connect(server.port) as late:
                late.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                status, _, _ = read_response(late)
            assert status == 200
        finally:
            for sock in holders:
                sock.close()
        output = server.output()
    assert "Traceback" not in output
    assert output.count("cannot accept connections") <= 1, output


def test_a_response_before_the_body_keeps_the_connection_usable(server: ServerProcess) -> None:
    with connect(server.port) as sock:
        # The route refuses on the headers alone (unknown path): the answer comes first.
        sock.sendall(b"POST /no/such/route HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n")
        status, headers, _ = read_response(sock)
        assert status == 404
        sock.sendall(b"x" * 20 + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        if headers.get("connection") != "close":  # kept alive: it must really be alive
            status, _, _ = read_response(sock)
            assert status == 200


def test_an_unread_body_too_big_to_wait_for_is_announced_as_closing(
    server: ServerProcess,
) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"POST /no/such/route HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n")
        status, headers, _ = read_response(sock)
        assert status == 404
        assert headers["connection"] == "close"


def test_content_length_and_transfer_encoding_together_close(server: ServerProcess) -> None:
    request = (
        b"POST /qa/cancel/u1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    )
    with connect(server.port) as sock:
        sock.sendall(request)
        status, headers, _ = read_response(sock)
        assert status == 404
        assert headers["connection"] == "close"
        assert closed_by_server(sock)


def test_head_on_connect_opens_no_stream(server: ServerProcess) -> None:
    with connect(server.port) as sock:
        sock.sendall(b"HEAD /qa/connect/header HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = read_response(sock)
        assert status == 200
        assert headers["content-type"].startswith("text/event-stream")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body = read_response(sock)
    assert status == 200
    assert json.loads(body)["connections"] == 0


def test_a_pooled_client_never_meets_a_silently_closed_connection(server: ServerProcess) -> None:
    """Refusals on headers alone (404, 405, 415) with bodies, then reuse of the same pool."""
    body = b"x" * 30_000
    with httpx.Client(base_url=server.url, timeout=SOCKET_TIMEOUT) as client:
        for _ in range(60):
            assert client.post("/no/such/route", content=body).status_code == 404
            assert client.put("/qa/ask/u1", content=body).status_code == 405
            assert client.post("/qa/ask/u1", content=body).status_code == 415
            assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("headers", "wrapped"),
    [
        ([], False),  # a stream's GET: nothing to guard, Hypercorn's own receive and send
        ([(b"content-length", b"0")], False),
        ([(b"content-length", b"5")], True),
        ([(b"transfer-encoding", b"chunked")], True),
    ],
)
async def test_only_requests_with_a_body_get_the_guards_receive_and_send(
    headers: list[tuple[bytes, bytes]], wrapped: bool
) -> None:
    seen: list[tuple[object, object]] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append((receive, send))

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    guard = ConnectionGuard(inner, InFlight(), BODY_TIMEOUT, 65536)
    scope = {"type": "http", "http_version": "1.1", "method": "GET", "headers": headers}
    async with asyncio.timeout(5):
        await guard(scope, receive, send)  # type: ignore[arg-type]
    assert (seen[0] != (receive, send)) is wrapped

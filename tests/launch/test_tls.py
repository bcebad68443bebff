"""quart-qa serving TLS from its config file: HTTP/2 by ALPN (HTTP/1.1 still offered) for the
chat stream and the LLM API, and HTTP/3 over QUIC with --quic-bind."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from httpx_sse import aconnect_sse

from tests.support.apps import required_program
from tests.support.h3_client import h3_connection
from tests.support.live_server import QaServer, free_port
from tests.support.openai_h2 import stream_chat_completion
from tests.support.tls import TlsFiles

pytestmark = pytest.mark.timeout(60)

ANSWER = "Sunny and warm today, with a light breeze."
CONFIG = f"""
[server]
certfile = "{{cert}}"
keyfile = "{{key}}"

[stream]
chunk_delay = 0.02
heartbeat = 1

[[answers]]
text = "{ANSWER}"
chunk_by = "word"
"""
STREAM_TIMEOUT = 10.0


@pytest.fixture(scope="module")
def tls_server(tls_files: TlsFiles, tmp_path_factory: pytest.TempPathFactory) -> Iterator[QaServer]:
    """Certificate and key from the [server] table; HTTP/3 on the same port number over UDP."""
    folder = tmp_path_factory.mktemp("tls-server")
    config = folder / "tls.toml"
    config.write_text(CONFIG.format(cert=tls_files.cert, key=tls_files.key), encoding="utf-8")
    port = free_port()
    options = ["--quic-bind", f"127.0.0.1:{port}"]
    server = QaServer(config, folder, port, options=options, scheme="https")
    server.start()
    yield server
    server.kill()  # a polite stop would wait for the QUIC connection to time out


@pytest.mark.parametrize("http2", [True, False], ids=["HTTP/2", "HTTP/1.1"])
async def test_the_chat_stream_answers_over_either_protocol(
    tls_server: QaServer, tls_files: TlsFiles, http2: bool
) -> None:
    async with (
        httpx.AsyncClient(
            base_url=tls_server.url, http2=http2, verify=tls_files.client_context(), timeout=5
        ) as client,
        asyncio.timeout(STREAM_TIMEOUT),
        aconnect_sse(client, "GET", "/qa/connect/tls_user") as source,
    ):
        assert source.response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
        chunks = []
        async for event in source.aiter_sse():
            if event.event == "CONNECTED":
                asked = await client.post("/qa/ask/tls_user", json={"question": "weather?"})
                assert asked.status_code == 202
            elif event.event == "ANSWER_CHUNK":
                chunks.append(event.data)
            elif event.event == "ANSWER_END":
                break
    assert "".join(chunks) == ANSWER


async def test_the_openai_sdk_streams_a_chat_completion_over_http2(
    tls_server: QaServer, tls_files: TlsFiles
) -> None:
    async with asyncio.timeout(STREAM_TIMEOUT):
        streamed = await stream_chat_completion(f"{tls_server.url}/v1", tls_files, "weather?")
    assert streamed.protocols == ["HTTP/2"]
    assert len(streamed.pieces) > 1  # streamed, not one block
    assert streamed.text == ANSWER


def test_curl_streams_a_chat_completion_over_http2(
    tls_server: QaServer, tls_files: TlsFiles
) -> None:
    curl = required_program(shutil.which("curl"), "curl")
    body = {"model": "quart-qa", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    result = subprocess.run(
        [curl, "--http2", "--no-buffer", "--silent", "--show-error", "--include",
         "--cacert", str(tls_files.ca), "--header", "Content-Type: application/json",
         "--data", json.dumps(body), f"{tls_server.url}/v1/chat/completions"],
        capture_output=True, text=True, timeout=STREAM_TIMEOUT, check=True,
    )  # fmt: skip
    head, _, stream = result.stdout.partition("\n\n")  # text mode: \r\n read as \n
    assert head.startswith("HTTP/2 200")
    assert "content-type: text/event-stream" in head.lower()
    data = [line.removeprefix("data: ") for line in stream.splitlines() if line.startswith("data:")]
    assert data[-1] == "[DONE]"
    deltas = [json.loads(item)["choices"][0]["delta"].get("content") for item in data[:-1]]
    pieces = [piece for piece in deltas if piece]
    assert len(pieces) > 1
    assert "".join(pieces) == ANSWER


async def test_http3_streams_an_answer_with_quic_bind(
    tls_server: QaServer, tls_files: TlsFiles
) -> None:
    async with httpx.AsyncClient(verify=tls_files.client_context()) as client:
        advertised = await client.get(f"{tls_server.url}/healthz")
    assert advertised.headers["alt-svc"] == f'h3=":{tls_server.port}"; ma=3600'
    async with (
        asyncio.timeout(STREAM_TIMEOUT),
        h3_connection("127.0.0.1", tls_server.port, tls_files.ca) as connection,
    ):
        stream = await connection.request("GET", "/qa/connect/h3_user")
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        asked = await connection.request(
            "POST", "/qa/ask/h3_user", json.dumps({"question": "weather?"}).encode(),
            {"content-type": "application/json"},
        )  # fmt: skip
        assert asked.status == 202
        received = b""
        async for chunk in stream.chunks():
            received += chunk
            if b"event: ANSWER_END" in received:
                break
    chunks = [
        frame.split("data: ", 1)[1]
        for frame in received.decode().split("\n\n")
        if frame.startswith("event: ANSWER_CHUNK")
    ]
    assert "".join(chunks) == ANSWER

"""``quart-qa record``'s proxy: forward everything, stream it back unchanged, record the answers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from quart import Quart, Response, request
from rich.console import Console
from werkzeug.datastructures import Headers

from .recording import Exchange, Recording

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
# Hop-by-hop headers, and those the proxy's own server sets or the body's framing decides.
REQUEST_DROPPED = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "accept-encoding",
    }
)
RESPONSE_DROPPED = frozenset(
    {"content-length", "connection", "keep-alive", "transfer-encoding", "date", "server"}
)
CLIENT_KEY = "quart_qa_record_client"
UNREACHABLE = json.dumps(
    {"error": {"type": "upstream_unreachable", "message": "the upstream could not be reached"}}
)


def create_proxy(upstream: str, recording: Recording, log: Console) -> Quart:
    """The proxy app: forward everything, record the LLM API answers that come back."""
    app = Quart(__name__)
    base = upstream.rstrip("/")

    @app.before_serving
    async def _open_client() -> None:
        app.extensions[CLIENT_KEY] = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None))

    @app.after_serving
    async def _close_client() -> None:
        await app.extensions.pop(CLIENT_KEY).aclose()

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    async def forward(path: str) -> Response:
        client: httpx.AsyncClient = app.extensions[CLIENT_KEY]
        body = await request.get_data(cache=False, as_text=False, parse_form_data=False)
        query = request.query_string.decode("latin-1")
        url = f"{base}/{path}" + (f"?{query}" if query else "")
        headers = [
            (name, value)
            for name, value in request.headers.items()
            if name.lower() not in REQUEST_DROPPED
        ]
        exchange = Exchange.start(f"/{path}", body) if request.method == "POST" else None
        try:
            answer = await client.send(
                client.build_request(request.method, url, headers=headers, content=body),
                stream=True,
            )
        except httpx.HTTPError as error:
            log.print(f"upstream unreachable: {error}", style="error")
            return Response(UNREACHABLE, status=502, content_type="application/json")
        if answer.status_code != 200:
            exchange = None

        async def relay() -> AsyncIterator[bytes]:
            complete = False
            try:
                async for chunk in answer.aiter_raw():
                    if exchange is not None:
                        exchange.feed(chunk)
                    yield chunk
                complete = True
            finally:
                await answer.aclose()
                if exchange is not None and complete:
                    exchange.finish()
                    recording.add(exchange)
                    log.print(f"recorded {exchange.summary()}", style="note")

        response = Response(
            relay(),
            status=answer.status_code,
            headers=Headers(
                [
                    (name, value)
                    for name, value in answer.headers.multi_items()
                    if name.lower() not in RESPONSE_DROPPED
                ]
            ),
        )
        response.timeout = None  # an answer may stream for longer than Quart's 60 s
        return response

    return app

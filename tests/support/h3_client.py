"""A small HTTP/3 client over aioquic, enough to read a stream and post a question."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aioquic.asyncio.client import connect
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.events import QuicEvent


@dataclass
class H3Response:
    """One request's response as it arrives: status and headers first, then body pieces."""

    events: asyncio.Queue[H3Event] = field(default_factory=asyncio.Queue)
    headers: dict[str, str] = field(default_factory=dict)
    ended: bool = False

    @property
    def status(self) -> int:
        return int(self.headers[":status"])

    async def start(self) -> None:
        """Wait for the response headers."""
        event = await self.events.get()
        assert isinstance(event, HeadersReceived), event
        self.headers = {name.decode(): value.decode() for name, value in event.headers}
        self.ended = event.stream_ended

    async def chunks(self) -> AsyncIterator[bytes]:
        """Body pieces until the stream ends."""
        while not self.ended:
            event = await self.events.get()
            if isinstance(event, DataReceived):
                self.ended = event.stream_ended
                yield event.data

    async def body(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])


class H3ClientProtocol(QuicConnectionProtocol):
    """Routes HTTP/3 events to the response of their request stream."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = H3Connection(self._quic)
        self._responses: dict[int, H3Response] = {}
        self.authority = ""

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self._http.handle_event(event):
            response = self._responses.get(getattr(h3_event, "stream_id", -1))
            if response is not None:
                response.events.put_nowait(h3_event)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> H3Response:
        stream_id = self._quic.get_next_available_stream_id()
        fields = [
            (b":method", method.encode()),
            (b":scheme", b"https"),
            (b":authority", self.authority.encode()),
            (b":path", path.encode()),
            *((name.encode(), value.encode()) for name, value in (headers or {}).items()),
        ]
        response = H3Response()
        self._responses[stream_id] = response
        self._http.send_headers(stream_id, fields, end_stream=not body)
        if body:
            self._http.send_data(stream_id, body, end_stream=True)
        self.transmit()
        await response.start()
        return response


@asynccontextmanager
async def h3_connection(host: str, port: int, ca_file: Path) -> AsyncIterator[H3ClientProtocol]:
    """One QUIC connection speaking HTTP/3, trusting ``ca_file``."""
    configuration = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
    configuration.load_verify_locations(str(ca_file))
    configuration.verify_mode = ssl.CERT_REQUIRED
    async with connect(
        host, port, configuration=configuration, create_protocol=H3ClientProtocol
    ) as client:
        assert isinstance(client, H3ClientProtocol)
        client.authority = f"{host}:{port}"
        yield client

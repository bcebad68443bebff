"""A streamed chat completion with the official openai SDK, its httpx client on HTTP/2 over TLS."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx2
import openai

from tests.support.tls import TlsFiles


@dataclass
class StreamedCompletion:
    """What arrived: the HTTP version of each response, and each text piece with its time."""

    protocols: list[str] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.monotonic() per piece

    @property
    def text(self) -> str:
        return "".join(self.pieces)


async def stream_chat_completion(base_url: str, tls: TlsFiles, question: str) -> StreamedCompletion:
    """Ask ``question`` at ``base_url`` (``https://.../v1``) with ``stream=True``."""
    streamed = StreamedCompletion()

    async def record(response: httpx2.Response) -> None:
        streamed.protocols.append(response.http_version)

    http_client = openai.DefaultAsyncHttpxClient(
        http2=True, verify=tls.client_context(), event_hooks={"response": [record]}
    )
    async with openai.AsyncOpenAI(
        base_url=base_url, api_key="any", http_client=http_client, max_retries=0
    ) as client:
        stream = await client.chat.completions.create(
            model="quart-qa", messages=[{"role": "user", "content": question}], stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                streamed.arrivals.append(time.monotonic())
                streamed.pieces.append(chunk.choices[0].delta.content)
    return streamed

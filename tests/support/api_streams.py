"""Reading an OpenAI chat completion stream from a real server process, with httpx."""

from __future__ import annotations

import asyncio

import httpx


async def read_openai_stream(
    client: httpx.AsyncClient, question: str, ready: asyncio.Event
) -> list[str]:
    """The ``data:`` payloads of one streamed chat completion; ``ready`` at its first text."""
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": question}]}
    payloads: list[str] = []
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                payloads.append(line.removeprefix("data: "))
                if '"content":"' in line and '"content":""' not in line:
                    ready.set()
    return payloads

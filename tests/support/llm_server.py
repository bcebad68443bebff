"""The app under Hypercorn in a background thread, for the official OpenAI and Anthropic SDKs.

The server has its own event loop, so a sync SDK client can block the test's thread and an
async one can run on the test's loop. The app stays in this process: tests can read its
:class:`~quart_qa.dialects.state.LlmState` and wait on it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart_qa.dialects.state import LlmState, get_llm_state
from quart_qa.settings.config import Settings, settings_from_mapping
from quart_qa.testing import ServerThread

GREETING = "Hello there! This is a scripted answer."
GREETING_TOKENS = ("Hello", " there", "!", " This", " is", " a", " scripted", " answer", ".")
FAILURE = "simulated outage"
LONG_PARTS = 200


def llm_settings(
    models: dict[str, dict[str, Any]] | None = None, **stream: float | int | str
) -> Settings:
    """Test rules with no pacing unless asked: "fail" fails after two parts, "slow" waits 30 s
    between parts, "long" streams 200 parts 20 ms apart, anything else gets :data:`GREETING`."""
    config: dict[str, Any] = {
        "stream": {"chunk_delay": 0, "first_chunk_delay": 0, "heartbeat": 0, **stream},
        "answers": [
            {
                "match": "fail",
                "parts": ["Partial ", "answer", " never sent"],
                "fail_after": 2,
                "error": FAILURE,
            },
            {"match": "slow", "parts": ["Slow", " and", " steady"], "delay": 30},
            {
                "match": "long",
                "parts": [f"word{index} " for index in range(LONG_PARTS)],
                "delay": 0.02,
            },
            {"text": GREETING},
        ],
    }
    if models is not None:
        config["models"] = models
    return settings_from_mapping(config, source="<llm tests>")


class ThreadedServer(ServerThread):
    """``with ThreadedServer(settings) as server:`` serves on ``server.url`` until the end."""

    @property
    def llm(self) -> LlmState:
        """The app's LLM state (read its counters; wait on it with :meth:`wait_idle`)."""
        return get_llm_state(self.app)

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no generation is running on the server."""
        async with asyncio.timeout(timeout):
            await self.call(self.llm.tracker.wait_idle())

    def __enter__(self) -> ThreadedServer:
        super().__enter__()
        return self

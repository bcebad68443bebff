"""The app under Hypercorn in a background thread, for the official OpenAI and Anthropic SDKs.

The server has its own event loop, so a sync SDK client can block the test's thread and an
async one can run on the test's loop. The app stays in this process: tests can read its
:class:`~quart_qa.dialects.state.LlmState` and wait on it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

from quart_qa import create_app
from quart_qa.dialects.state import LlmState, get_llm_state
from quart_qa.settings.config import Settings, settings_from_mapping

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

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


_T = TypeVar("_T")


class ThreadedServer:
    """``with ThreadedServer(settings) as server:`` serves on ``server.url`` until the end."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def llm(self) -> LlmState:
        """The app's LLM state (read its counters; wait on it with :meth:`wait_idle`)."""
        return get_llm_state(self.app)

    def __enter__(self) -> ThreadedServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # connections queue from now on, before Hypercorn accepts them
        self.port = sock.getsockname()[1]
        config = HypercornConfig()
        config.bind = [f"fd://{sock.detach()}"]
        config.graceful_timeout = 1.0
        config.accesslog = None
        config.errorlog = None
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(config),), name="llm-test-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError("the test server did not start")
        if self._error is not None:
            raise RuntimeError("the test server failed to start") from self._error
        return self

    async def _serve(self, config: HypercornConfig) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        try:
            await serve(self.app, config, shutdown_trigger=self._stop.wait)
        except Exception as error:  # reported by __exit__, not lost in the thread
            self._error = error

    def call(self, coroutine: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
        """Run ``coroutine`` on the server's loop; await the result from the test's loop."""
        assert self._loop is not None
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self._loop))

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no generation is running on the server."""
        async with asyncio.timeout(timeout):
            await self.call(self.llm.tracker.wait_idle())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                raise RuntimeError("the test server did not stop")
        if self._error is not None and exc is None:
            raise RuntimeError("the test server failed") from self._error

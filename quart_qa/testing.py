"""Helpers for testing an app against quart-qa: a real server in a thread, its admin API,
and parsed Server-Sent Events from the Quart test client.

``QaServer`` runs the app under Hypercorn on a free port in a background thread with its
own event loop (so a synchronous SDK client may block the test's thread), with the admin
API on. The pytest plugin (:mod:`quart_qa.pytest_plugin`) hands it out as ``qa_server``.
Needs the ``testing`` extra (httpx, httpx-sse): ``pip install 'quart-qa[testing]'``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from types import TracebackType
from typing import Any, TypeVar

import httpx
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig
from quart.typing import TestClientProtocol, TestHTTPConnectionProtocol

from .app import create_app
from .settings.config import Settings
from .settings.scripts import SCENARIO_HEADER

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
READ_TIMEOUT = 5.0
TERMINAL_EVENTS = ("ANSWER_END", "ERROR", "ANSWER_CANCELLED")

_T = TypeVar("_T")


class ServerThread:
    """``with ServerThread(settings) as server:`` serves ``create_app(settings)`` on
    ``server.url`` (a free port on 127.0.0.1) until the block ends."""

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

    def __enter__(self) -> ServerThread:
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
            target=asyncio.run, args=(self._serve(config),), name="quart-qa-server", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise TimeoutError("the quart-qa server did not start")
        if self._error is not None:
            raise RuntimeError("the quart-qa server failed to start") from self._error
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
                raise RuntimeError("the quart-qa server did not stop")
        if self._error is not None and exc is None:
            raise RuntimeError("the quart-qa server failed") from self._error


def with_admin(settings: Settings) -> Settings:
    """``settings`` with the admin API on (its token, if any, kept)."""
    return replace(settings, admin=replace(settings.admin, enabled=True))


class QaServer:
    """A running server seen by one test: URLs, scripts, faults and the journal.

    Scripts are scoped to this handle's ``scenario`` (the ``X-QA-Scenario`` header, sent
    by clients built with :attr:`headers`) when ``scoped``, else they apply to every
    request until :meth:`reset`. :meth:`journal` shows the requests since the handle began
    (of its scenario, when scoped).
    """

    def __init__(self, url: str, *, admin_token: str = "", scoped: bool = False) -> None:
        self.base_url = url
        self.scenario = f"test-{uuid.uuid4().hex[:12]}"
        self.scoped = scoped
        headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
        self._admin = httpx.Client(base_url=f"{url}/_qa", headers=headers, timeout=10)
        self._since = self._last_id()

    @property
    def openai_base_url(self) -> str:
        """For ``OpenAI(base_url=...)``."""
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """For ``Anthropic(base_url=...)``."""
        return self.base_url

    @property
    def headers(self) -> dict[str, str]:
        """Headers that put a client's requests in this handle's scenario."""
        return {SCENARIO_HEADER: self.scenario}

    def _last_id(self) -> int:
        entries = self._checked(self._admin.get("/journal", params={"limit": 1}))["entries"]
        return int(entries[-1]["id"]) if entries else 0

    @staticmethod
    def _checked(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(f"quart-qa admin API: {response.status_code} {response.text}")
        return response.json()

    def script(
        self,
        *rules: Mapping[str, Any],
        toml: str | None = None,
        replace_all: bool = False,
    ) -> dict[str, Any]:
        """Add rules (dicts shaped like ``[[answers]]`` tables, or TOML text) ahead of the
        ones in force; ``replace_all`` replaces them instead (a default rule is then needed
        unless scoped). Invalid rules raise AssertionError with the server's one-line error."""
        method = "PUT" if replace_all else "POST"
        if toml is not None:
            if self.scoped:
                toml += f'\n[scope]\nscenario = "{self.scenario}"\n'
            response = self._admin.request(
                method, "/script", content=toml, headers={"Content-Type": "application/toml"}
            )
        else:
            body: dict[str, Any] = {"answers": [dict(rule) for rule in rules]}
            if self.scoped:
                body["scope"] = {"scenario": self.scenario}
            response = self._admin.request(method, "/script", json=body)
        result: dict[str, Any] = self._checked(response)
        return result

    def fault(
        self, kind: str, *, times: int | None = 1, match: str | None = None, **options: Any
    ) -> None:
        """Make the next ``times`` matching requests fail with ``kind`` (``rate_limit``,
        ``server_error``, ``overloaded``, ``context_length``, ``stall``, ``disconnect``,
        ``truncate``, ``malformed``); ``options`` are the fault's (``retry_after``, ``after``,
        ``seconds``, ``message``). Stream faults stream the rules' answer in force."""
        rule: dict[str, Any] = {"fault": {"kind": kind, **options}}
        if kind in ("stall", "disconnect", "truncate", "malformed"):
            rule["text"] = options.pop("text", "This answer is cut short by a scripted fault.")
            rule["fault"] = {"kind": kind, **options}
        if times is not None:
            rule["times"] = times
        if match is not None:
            rule["match"] = match
        self.script(rule)

    def journal(self, *, path: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        """The requests recorded since this handle began, oldest first."""
        params: dict[str, Any] = {"since": self._since}
        if path is not None:
            params["path"] = path
        if user is not None:
            params["user"] = user
        if self.scoped:
            params["scenario"] = self.scenario
        entries: list[dict[str, Any]] = self._checked(self._admin.get("/journal", params=params))[
            "entries"
        ]
        return entries

    def reset(self) -> None:
        """Drop this handle's scripts (all scripts when not scoped); the journal stays."""
        params = {"scenario": self.scenario} if self.scoped else {}
        self._checked(self._admin.delete("/script", params=params))

    def close(self) -> None:
        """Reset and release the admin client."""
        try:
            self.reset()
        finally:
            self._admin.close()


class EventStream:
    """Events parsed from one Quart test-client streaming response; reads time out."""

    def __init__(self, connection: TestHTTPConnectionProtocol) -> None:
        self.connection = connection
        self._lines = SSELineDecoder()
        self._decoder = SSEDecoder()
        self._pending: list[ServerSentEvent] = []
        self.comments: list[str] = []
        self.raw = bytearray()
        self.ended = False

    def _feed(self, chunk: bytes) -> None:
        self.raw.extend(chunk)
        for line in self._lines.decode(chunk.decode("utf-8")):
            if line.startswith(":"):
                self.comments.append(line)
            event = self._decoder.decode(line)
            if event is not None:
                self._pending.append(event)

    async def next_event(self, timeout: float = READ_TIMEOUT) -> ServerSentEvent:
        """The next event; raises EOFError when the stream ends first."""
        async with asyncio.timeout(timeout):
            while not self._pending:
                if self.ended:
                    raise EOFError("stream ended")
                chunk = await self.connection.receive()
                if chunk == b"":
                    self.ended = True
                else:
                    self._feed(chunk)
        return self._pending.pop(0)

    async def until(self, *names: str, timeout: float = READ_TIMEOUT) -> list[ServerSentEvent]:
        """Events up to and including the first whose name is in ``names``."""
        events = []
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next_event(timeout)
                events.append(event)
                if event.event in names:
                    return events

    async def answer(self, timeout: float = READ_TIMEOUT) -> list[ServerSentEvent]:
        """The events of one whole answer, up to its terminal event."""
        return await self.until(*TERMINAL_EVENTS, timeout=timeout)

    async def wait_end(self, timeout: float = READ_TIMEOUT) -> list[ServerSentEvent]:
        """Every remaining event until the server ends the stream."""
        events = []
        try:
            while True:
                events.append(await self.next_event(timeout))
        except EOFError:
            return events


@asynccontextmanager
async def open_stream(
    client: TestClientProtocol,
    user_id: str,
    *,
    headers: dict[str, str] | None = None,
    expect_connected: bool = True,
) -> AsyncIterator[EventStream]:
    """``/qa/connect/<user_id>`` on a Quart test client, as parsed events; by default it
    waits for ``CONNECTED``, so the subscription is live before the test asks."""
    async with client.request(f"/qa/connect/{user_id}", headers=headers) as connection:
        await connection.send_complete()
        stream = EventStream(connection)
        try:
            if expect_connected:
                first = await stream.next_event()
                assert first.event == "CONNECTED", first
            yield stream
        finally:
            await connection.disconnect()

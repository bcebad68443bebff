"""Shared fixtures: apps built from test settings, clients, and a fast seed-like config."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from quart_qa import create_app
from quart_qa.settings.broker import BrokerSettings
from quart_qa.settings.config import Settings

from .redis_server import RedisServer, redis_server, redis_server_path

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ("memory", "redis")

AppFactory = Callable[[Settings], AbstractAsyncContextManager[Quart]]


def fast_settings(**stream: object) -> Settings:
    """The seed's answer and texts, paced fast enough for tests.

    No history time-to-live and no resume grace, so that state is released at once.
    """
    values: dict[str, object] = {
        "chunk_delay": 0.01,
        "heartbeat": 0,
        "history_ttl": 0,
        "resume_grace": 0,
    }
    values.update(stream)
    return Settings().with_stream(**values)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Quart]:
    """An app with its startup and shutdown hooks run around the block."""
    app = create_app(settings)
    async with app.test_app():
        yield app


def with_redis(settings: Settings, url: str, prefix: str, **broker: object) -> Settings:
    """``settings`` on the Redis backend at ``url``, keys under ``prefix``."""
    values: dict[str, object] = {"backend": "redis", "url": url, "prefix": prefix}
    values.update(broker)
    return replace(settings, broker=BrokerSettings(**values))  # type: ignore[arg-type]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules with ``ALL_BACKENDS = True`` run every app test on memory and on Redis."""
    if "backend" in metafunc.fixturenames and getattr(metafunc.module, "ALL_BACKENDS", False):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def redis_program() -> str:
    """``redis-server``; missing is a skip on a laptop and a failure in CI."""
    program = redis_server_path()
    if program is None:
        message = "redis-server is not installed (scripts/ensure-system-deps.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return program


@pytest.fixture(scope="session")
def shared_redis(redis_program: str) -> Iterator[RedisServer]:
    """One server for the session; each test keeps its keys under a prefix of its own."""
    with redis_server(redis_program) as server:
        yield server


@pytest.fixture
def own_redis(redis_program: str) -> Iterator[RedisServer]:
    """A server for one test (to stop or restart it)."""
    with redis_server(redis_program) as server:
        yield server


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "memory"))


@pytest.fixture
def make_app(backend: str, request: pytest.FixtureRequest) -> AppFactory:
    """Apps on the test's backend; with Redis, every app of a test shares one key prefix."""
    if backend == "memory":
        return running_app
    server: RedisServer = request.getfixturevalue("shared_redis")
    prefix = f"t{uuid.uuid4().hex[:12]}"

    def factory(settings: Settings) -> AbstractAsyncContextManager[Quart]:
        return running_app(with_redis(settings, server.url, prefix))

    return factory


@pytest.fixture
def settings() -> Settings:
    return fast_settings()


@pytest.fixture
async def app(settings: Settings, make_app: AppFactory) -> AsyncIterator[Quart]:
    async with make_app(settings) as app:
        yield app


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()

"""Shared fixtures: apps built from test settings, clients, and a fast seed-like config."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from quart_qa.settings.config import Settings

from .support.apps import AppFactory, fast_settings, required_program, running_app, with_redis
from .support.redis_server import RedisServer, redis_server, redis_server_path
from .support.tls import TlsFiles, make_tls_files
from .support.wheel import InstalledWheel, build_wheel, install_wheel

BACKENDS = ("memory", "redis")

pytest_plugins = ("pytester",)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Modules with ``ALL_BACKENDS = True`` run every app test on memory and on Redis."""
    if "backend" in metafunc.fixturenames and getattr(metafunc.module, "ALL_BACKENDS", False):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture(scope="session")
def redis_program() -> str:
    """``redis-server``; missing is a skip on a laptop and a failure in CI."""
    return required_program(redis_server_path(), "redis-server")


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


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> InstalledWheel:
    """quart-qa's wheel, built once a session and installed in a fresh virtual environment."""
    workdir = tmp_path_factory.mktemp("wheel")
    return install_wheel(build_wheel(workdir), workdir)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a certificate for 127.0.0.1 it signed, made once a session."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))

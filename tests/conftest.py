"""Shared fixtures: apps built from test settings, clients, and a fast seed-like config."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from quart_qa import create_app
from quart_qa.config import Settings

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

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


@pytest.fixture
def settings() -> Settings:
    return fast_settings()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Quart]:
    async with running_app(settings) as app:
        yield app


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


@pytest.fixture
def make_app() -> AppFactory:
    return running_app

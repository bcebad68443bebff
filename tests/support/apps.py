"""Apps built from test settings, and the facts every suite shares (the repo root, CI or not)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from quart import Quart

from quart_qa import create_app
from quart_qa.settings.broker import BrokerSettings
from quart_qa.settings.config import Settings

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ("memory", "redis")


def required_program(path: str | None, name: str) -> str:
    """``path`` of a program a test drives; missing is a skip on a laptop and a failure in CI."""
    if path is None:
        message = f"{name} is not installed (scripts/ensure-system-deps.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


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

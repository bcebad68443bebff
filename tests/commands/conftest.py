"""A real ``quart-qa serve`` per test module, on the module's own ``config``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.live_server import ServerProcess, live_server


@pytest.fixture(scope="module")
def server(config: Path) -> Iterator[ServerProcess]:
    with live_server(config) as running:
        yield running

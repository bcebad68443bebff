"""The pytest plugin (entry point ``pytest11``): a real quart-qa server for your tests.

``qa_server`` (a :class:`quart_qa.testing.QaServer`) is one test's view of a server that
runs in a background thread of the test process for the whole session, on a free port,
with the admin API on. Scripts a test sets are dropped after it; its journal shows only
its own requests. The config is ``--qa-config PATH`` (or the ``qa_config`` ini option),
else the embedded defaults paced for tests (no delays); a test marked
``@pytest.mark.qa_config("path.toml")`` gets a server of its own config (one per file for
the session).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .settings.config import Settings, load_settings

if TYPE_CHECKING:  # imported when a test asks for the fixture: it needs the testing extra
    from .testing import QaServer, ServerThread

MARKER = "qa_config"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("quart-qa")
    group.addoption("--qa-config", default=None, help="TOML config of the qa_server fixture")
    parser.addini("qa_config", "TOML config of the qa_server fixture", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(path): run this test's qa_server with that TOML config"
    )


def fast_defaults() -> Settings:
    """The embedded defaults with no pacing: answers arrive as fast as a test reads them."""
    return Settings().with_stream(chunk_delay=0.0, first_chunk_delay=0.0, heartbeat=0.0)


def _settings_for(path: str) -> Settings:
    settings = load_settings(path) if path else fast_defaults()
    return replace(settings, admin=replace(settings.admin, enabled=True))


@pytest.fixture(scope="session")
def qa_servers() -> Iterator[dict[str, ServerThread]]:
    """The session's servers, one per config path ("" for the default), started on demand."""
    servers: dict[str, ServerThread] = {}
    try:
        yield servers
    finally:
        for server in servers.values():
            server.__exit__(None, None, None)


@pytest.fixture
def qa_server(
    request: pytest.FixtureRequest, qa_servers: dict[str, ServerThread]
) -> Iterator[QaServer]:
    """A real quart-qa server for this test: URLs, ``script()``, ``fault()``, ``journal()``."""
    from .testing import QaServer, ServerThread
    from .web.state import get_state

    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        path = str(Path(request.path).parent / marker.args[0])
    else:
        path = request.config.getoption("--qa-config") or request.config.getini("qa_config")
        path = str(Path(request.config.rootpath) / path) if path else ""
    server = qa_servers.get(path)
    if server is None:
        server = qa_servers[path] = ServerThread(_settings_for(path)).__enter__()
    handle = QaServer(server.url, admin_token=get_state(server.app).settings.admin.token)
    try:
        yield handle
    finally:
        handle.close()

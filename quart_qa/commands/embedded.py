"""Serving an app inside a command: ``ask`` and ``demo`` without ``--url``, ``record``'s proxy.

The listening socket is bound before Hypercorn starts (port 0: the kernel picks a free one),
so the address is known at once and no other process can take it in between. The app runs
under the same Hypercorn settings as ``quart-qa serve``.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from hypercorn.asyncio import serve
from hypercorn.typing import ASGIFramework

from ..server import BACKLOG, hypercorn_config
from ..settings.config import Settings

LOOPBACK_ANY_PORT = "127.0.0.1:0"


def listening_socket(bind: str) -> socket.socket:
    """A socket listening on ``HOST:PORT`` (``[::1]:0`` for IPv6; port 0: any free one)."""
    host, _, port = bind.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--bind must be HOST:PORT, got {bind!r}")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, int(port)))
        listener.listen(BACKLOG)
    except OSError:
        listener.close()
        raise
    return listener


@asynccontextmanager
async def serving(
    app: ASGIFramework,
    bind: str = LOOPBACK_ANY_PORT,
    before_stop: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` on ``bind`` while the block runs; yields its base URL."""
    listener = listening_socket(bind)
    host, port = listener.getsockname()[:2]
    url_host = f"[{host}]" if ":" in host else host
    # Hypercorn adopts the descriptor and closes it when it stops.
    config = hypercorn_config(f"fd://{listener.detach()}", Settings())
    stop = asyncio.Event()

    async def shutdown_trigger() -> None:
        await stop.wait()
        if before_stop is not None:
            await before_stop()

    server = asyncio.create_task(serve(app, config, shutdown_trigger=shutdown_trigger))
    try:
        yield f"http://{url_host}:{port}"
    finally:
        stop.set()
        await server


@asynccontextmanager
async def embedded_server(settings: Settings) -> AsyncIterator[str]:
    """``quart-qa serve``'s app for ``settings`` on a free loopback port; yields its URL."""
    from ..app import create_app
    from ..web.state import get_state

    app = create_app(settings)
    async with serving(app, before_stop=get_state(app).shut_down) as url:
        yield url

"""Run the app under Hypercorn, programmatically, with a clean stop on SIGTERM / Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal

from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

from .app import create_app
from .config import Settings
from .state import get_state

log = logging.getLogger("quart_qa.server")

SHUTDOWN_MARGIN = 3.0


def hypercorn_config(bind: str, settings: Settings) -> HypercornConfig:
    """Hypercorn settings for serving event streams."""
    config = HypercornConfig()
    config.bind = [bind]
    # Our own shutdown (answers' grace, goodbye events) runs before Hypercorn's wait starts.
    config.graceful_timeout = SHUTDOWN_MARGIN
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    return config


async def serve_app(settings: Settings, bind: str) -> None:
    """Serve until SIGTERM or SIGINT, then end every stream and stop."""
    app = create_app(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    async def shutdown_trigger() -> None:
        await stop.wait()
        log.info("stopping: saying goodbye to open streams")
        await get_state(app).shut_down()

    log.info("quart-qa serving on http://%s (config: %s)", bind, settings.source)
    await serve(app, hypercorn_config(bind, settings), shutdown_trigger=shutdown_trigger)

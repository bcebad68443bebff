"""Several worker processes under Hypercorn's own supervisor (Redis broker only).

Each worker builds the app with ``create_app()`` from ``$QA_CONFIG``; with the Redis
broker the workers share users' streams, so any worker may hold a stream and any
worker may take the question.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hypercorn.run import run

from .server import hypercorn_config, listening_on
from .settings.config import CONFIG_ENV_VAR, Settings

log = logging.getLogger("quart_qa.server")

APPLICATION_PATH = "quart_qa:create_app()"


def serve_workers(settings: Settings, config_path: str, bind: str, workers: int) -> int:
    """Serve with ``workers`` processes until SIGTERM or SIGINT; the exit status."""
    os.environ[CONFIG_ENV_VAR] = str(Path(config_path).resolve())
    config = hypercorn_config(bind, settings)
    config.workers = workers
    config.application_path = APPLICATION_PATH
    log.info(
        "quart-qa serving on %s with %d workers (config: %s)",
        listening_on(bind, settings.server),
        workers,
        settings.source,
    )
    status: int = run(config)
    return status

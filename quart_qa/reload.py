"""Hot reload of the config file: on SIGHUP, and on every save while ``serve`` watches it.

A valid file swaps the answer rules (and ``[chaos]``) at once: new answers follow it, the
running ones finish on the rules they started with. Other sections need a restart. An
invalid file keeps the rules in force; its one-line error is logged and shown on
``/healthz`` until a valid save clears it. The file is watched with watchfiles (inotify on
Linux), through its folder, so editors that save by replacing the file are seen too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from quart import Quart
from watchfiles import Change, awatch

from .settings.config import load_settings
from .settings.errors import ConfigError
from .web.state import get_state

log = logging.getLogger("quart_qa.reload")

DEBOUNCE_MS = 50


class ConfigReloader:
    """Reloads ``path`` into ``app``'s rule book."""

    def __init__(self, app: Quart, path: str) -> None:
        self._app = app
        self._path = Path(path).resolve()

    def reload(self) -> bool:
        """Read the file again; True when its rules are now in force."""
        state = get_state(self._app)
        status = state.reload
        status.at = time.time()
        try:
            settings = load_settings(self._path)
        except ConfigError as error:
            status.error = str(error)
            log.error("config reload failed, the rules in force stay: %s", error)
            return False
        state.rules.reload(settings.answers, settings.chaos)
        status.reloads += 1
        status.error = None
        log.info("config reloaded from %s: %d rule(s)", self._path, len(settings.answers))
        return True

    def _is_ours(self, change: Change, path: str) -> bool:
        return change != Change.deleted and Path(path) == self._path

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload after every change to the file until ``stop`` is set."""
        async for _changes in awatch(
            self._path.parent,
            watch_filter=self._is_ours,
            stop_event=stop,
            debounce=DEBOUNCE_MS,
            recursive=False,
        ):
            self.reload()

"""The state of one app: settings, broadcasts, running answers; reached via :func:`get_state`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from quart import Quart, current_app

from .answer_runner import AnswerRunner
from .broadcast import BroadcastRegistry, CloseReason
from .config import Settings
from .sse import encode_comment

EXTENSION_KEY = "quart_qa"
HEARTBEAT_FRAME = encode_comment("heartbeat")


@dataclass
class AppState:
    """Everything mutable the app owns; created by ``create_app``, never global."""

    settings: Settings
    registry: BroadcastRegistry
    runner: AnswerRunner
    started_at: float = field(default_factory=time.monotonic)
    _heartbeat_task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AppState:
        """Fresh state for one app."""
        registry = BroadcastRegistry(settings.stream.queue_size)
        return cls(settings, registry, AnswerRunner(settings, registry))

    async def start(self) -> None:
        """Start background work (the heartbeat ticker)."""
        interval = self.settings.stream.heartbeat
        if interval > 0:
            self._heartbeat_task = asyncio.get_running_loop().create_task(
                self._beat(interval), name="heartbeat"
            )

    async def _beat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for subscription in self.registry.all_subscriptions():
                subscription.offer_heartbeat(HEARTBEAT_FRAME)

    def close_streams(self) -> None:
        """End every open stream cleanly (queued frames are still delivered)."""
        for subscription in self.registry.all_subscriptions():
            subscription.close(CloseReason.SHUTDOWN)

    async def stop(self) -> None:
        """Stop background work and running answers."""
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
            self._heartbeat_task = None
        await self.runner.shutdown()
        self.close_streams()


def get_state(app: Quart | None = None) -> AppState:
    """The :class:`AppState` of ``app`` (default: the current app)."""
    state: AppState = (app or current_app).extensions[EXTENSION_KEY]
    return state

"""The state of one app: settings, broadcasts, running answers; reached via :func:`get_state`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from quart import Quart, current_app

from ..brokers.base import Broker, make_broker
from ..settings.config import Settings
from ..streaming.answer_runner import AnswerRunner, render
from ..streaming.broadcast import BroadcastRegistry
from ..streaming.metrics import Metrics
from ..streaming.sse import encode_comment
from ..streaming.subscription import CloseReason

EXTENSION_KEY = "quart_qa"
HEARTBEAT_FRAME = encode_comment("heartbeat")
HOUSEKEEPING_INTERVAL = 30.0

log = logging.getLogger("quart_qa.server")


@dataclass
class AppState:
    """Everything mutable the app owns; created by ``create_app``, never global."""

    settings: Settings
    broker: Broker
    metrics: Metrics
    started_at: float = field(default_factory=time.monotonic)
    draining: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppState:
        """Fresh state for one app."""
        metrics = Metrics()
        return cls(settings, make_broker(settings, metrics), metrics)

    @property
    def registry(self) -> BroadcastRegistry:
        """This process's connections, per user."""
        return self.broker.registry

    @property
    def runner(self) -> AnswerRunner:
        """The answers this process runs."""
        return self.broker.runner

    async def start(self) -> None:
        """Connect the broker, start background work: heartbeats and housekeeping."""
        await self.broker.start()
        loop = asyncio.get_running_loop()
        interval = self.settings.stream.heartbeat
        if interval > 0:
            self._tasks.append(loop.create_task(self._beat(interval), name="heartbeat"))
        self._tasks.append(loop.create_task(self._housekeeping(), name="housekeeping"))

    async def _beat(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            for subscription in self.registry.all_subscriptions():
                subscription.offer_heartbeat(HEARTBEAT_FRAME)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            self.broker.housekeeping()

    async def shut_down(self) -> None:
        """Graceful stop: refuse new work, let answers finish within the grace, say goodbye.

        Every open stream gets ``SERVER_SHUTDOWN`` and then ends, so browsers reconnect
        (to this server once it is back, or to another one) and resume from there.
        """
        if self.draining:
            return
        self.draining = True
        grace = self.settings.stream.shutdown_grace
        log.info(
            "shutting down: %d answer(s) running, grace %.1fs", self.runner.running_count, grace
        )
        await self.runner.finish(grace)
        goodbye = self.settings.messages.server_shutdown
        await self.broker.say_goodbye(
            "SERVER_SHUTDOWN", lambda user_id: render(goodbye, user_id=user_id)
        )
        self.close_streams()

    def close_streams(self) -> None:
        """End every open stream cleanly (queued frames are still delivered)."""
        for subscription in self.registry.all_subscriptions():
            subscription.close(CloseReason.SHUTDOWN)

    async def stop(self) -> None:
        """Stop background work and running answers (after serving)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.broker.stop()
        self.close_streams()
        self.registry.clear()


def get_state(app: Quart | None = None) -> AppState:
    """The :class:`AppState` of ``app`` (default: the current app)."""
    state: AppState = (app or current_app).extensions[EXTENSION_KEY]
    return state

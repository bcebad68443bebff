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
from ..streaming.journal import JournalStore
from ..streaming.metrics import Metrics, StateFigures
from ..streaming.rulebook import RuleBook
from ..streaming.sse import encode_comment
from ..streaming.streams import OpenStreams
from ..streaming.subscription import CloseReason
from .address_limits import AddressLimits
from .connection_guard import InFlight

EXTENSION_KEY = "quart_qa"
HEARTBEAT_FRAME = encode_comment("heartbeat")
HOUSEKEEPING_INTERVAL = 30.0
# After the goodbye, how long streams get to drain it before their connections are cut.
GOODBYE_WINDOW = 1.0

log = logging.getLogger("quart_qa.server")


@dataclass
class ReloadStatus:
    """How the last reload of the config file went (``/healthz`` shows it)."""

    reloads: int = 0
    error: str | None = None
    at: float | None = None

    def as_json(self) -> dict[str, object]:
        """The ``config`` field of ``/healthz``."""
        return {"reloads": self.reloads, "error": self.error, "at": self.at}


@dataclass
class AppState:
    """Everything mutable the app owns; created by ``create_app``, never global."""

    settings: Settings
    broker: Broker
    metrics: Metrics
    address_limits: AddressLimits
    streams: OpenStreams
    rules: RuleBook
    in_flight: InFlight = field(default_factory=InFlight)
    journal: JournalStore | None = None
    reload: ReloadStatus = field(default_factory=ReloadStatus)
    started_at: float = field(default_factory=time.monotonic)
    draining: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppState:
        """Fresh state for one app."""
        metrics = Metrics()
        rules = RuleBook(settings.answers, settings.chaos)
        broker = make_broker(settings, metrics, rules)
        streams = OpenStreams(settings.limits.max_connections, lambda: broker.registry.connections)
        state = cls(settings, broker, metrics, AddressLimits(settings.limits), streams, rules)
        if settings.admin.enabled:
            store, state.journal = broker.admin_stores(settings.admin.journal_size)
            if store is not None:
                rules.share(store)
        metrics.observe_state(state.observed)
        return state

    @property
    def closed_streams(self) -> int:
        """Streams of every kind closed so far (the collector paces full collections by it)."""
        return self.registry.closed + self.streams.closed

    @property
    def connection_count(self) -> int:
        """Open streams of every kind in this process: the chat page's and the APIs'."""
        return self.registry.connections + self.streams.count

    def observed(self) -> StateFigures:
        """The figures ``/metrics`` reads at each scrape."""
        registry = self.registry
        return StateFigures(
            users=len(registry),
            history_bytes=registry.retained_bytes,
            users_evicted=registry.evictions,
            api_streams=self.streams.by_kind(),
        )

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
            for broadcast in self.registry.broadcasts():
                if not broadcast.heartbeats_held:
                    for subscription in broadcast.subscriptions():
                        subscription.offer_heartbeat(HEARTBEAT_FRAME)

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            self.broker.housekeeping()
            self.address_limits.prune()

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
            "shutting down: %d answer(s) and %d API stream(s) running, grace %.1fs",
            self.runner.running_count,
            self.streams.count,
            grace,
        )
        await asyncio.gather(self.runner.finish(grace), self.streams.finish(grace))
        goodbye = self.settings.messages.server_shutdown
        await self.broker.say_goodbye(
            "SERVER_SHUTDOWN", lambda user_id: render(goodbye, user_id=user_id)
        )
        self.close_streams()
        if not await self.in_flight.wait_idle(GOODBYE_WINDOW):
            cut = self.in_flight.cut_all()
            log.warning("cut %d connection(s) whose client did not take its goodbye", cut)

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

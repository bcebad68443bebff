"""The memory broker: every user's stream, answers and limits in this one process."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..settings.config import Settings
from ..streaming import refusals
from ..streaming.answer_runner import Answer, AnswerRunner, CancelResult
from ..streaming.broadcast import BroadcastRegistry, Connection
from ..streaming.event_stream import parse_last_event_id
from ..streaming.journal import Journal
from ..streaming.metrics import Metrics
from ..streaming.rulebook import RuleBook


class MemoryBroker:
    """Everything in this process: what a single worker needs, and the fastest path."""

    name = "memory"

    def __init__(self, settings: Settings, metrics: Metrics, rules: RuleBook) -> None:
        stream = settings.stream
        self._settings = settings
        self.registry = BroadcastRegistry(
            stream.queue_size,
            stream.history,
            stream.history_ttl,
            max_retained_bytes=settings.limits.max_history_bytes,
        )
        self.runner = AnswerRunner(settings, self.registry, metrics, rules)

    async def start(self) -> None:
        return None

    def admin_stores(self, journal_size: int) -> tuple[None, Journal]:
        return None, Journal(journal_size)

    async def open(self, user_id: str, last_event_id: str | None) -> Connection:
        settings, registry = self._settings, self.registry
        if registry.connections >= settings.limits.max_connections:
            raise refusals.TooManyConnections(settings.limits.max_connections)
        broadcast = registry.get(user_id)
        limit = settings.limits.max_connections_per_user
        if broadcast is not None and broadcast.subscriber_count >= limit:
            raise refusals.TooManyConnectionsForUser(user_id, limit)
        return registry.open(user_id, parse_last_event_id(last_event_id))

    async def submit(self, user_id: str, question: str) -> Answer:
        return self.runner.submit(user_id, question)

    async def cancel(self, user_id: str) -> CancelResult:
        return self.runner.cancel(user_id)

    def health(self) -> Mapping[str, object]:
        return {"broker": self.name, "healthy": True}

    def housekeeping(self) -> None:
        self.runner.rate_limiter.prune()

    async def say_goodbye(self, name: str, text: Callable[[str], str]) -> None:
        for broadcast in self.registry.broadcasts():
            if broadcast.subscriber_count:
                await broadcast.publish(name, text(broadcast.user_id))

    async def stop(self) -> None:
        await self.runner.shutdown()

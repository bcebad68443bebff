"""The broker seam: how routes reach users' streams and answers, whatever carries them.

``MemoryBroker`` (the default) keeps everything in this process. ``RedisBroker``
(:mod:`quart_qa.brokers.redis.broker`) shares users' streams and answer rules across processes
and hosts. Both fan events out to this process's connections through a
:class:`~quart_qa.streaming.broadcast.BroadcastRegistry`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from ..settings.config import Settings
from ..streaming.answer_runner import Answer, AnswerRunner, CancelResult
from ..streaming.broadcast import BroadcastRegistry, Connection
from ..streaming.journal import JournalStore
from ..streaming.metrics import Metrics
from ..streaming.rulebook import RuleBook
from ..streaming.shared_rules import RuleStore
from .memory import MemoryBroker


class Broker(Protocol):
    """What routes and the app's lifecycle need from a backend."""

    @property
    def name(self) -> str:
        """``"memory"`` or ``"redis"``."""

    @property
    def registry(self) -> BroadcastRegistry:
        """This process's connections, per user."""

    @property
    def runner(self) -> AnswerRunner:
        """The answers this process runs."""

    async def start(self) -> None:
        """Connect and start background work; raise when the backend is unusable."""

    async def open(self, user_id: str, last_event_id: str | None) -> Connection:
        """Admit a new stream of ``user_id`` (or raise a refusal) resuming after the id."""

    async def submit(self, user_id: str, question: str) -> Answer:
        """Accept a question (or raise a refusal); its answer streams to every tab."""

    async def cancel(self, user_id: str) -> CancelResult:
        """Stop the running answer of ``user_id`` and drop the queued ones."""

    def health(self) -> Mapping[str, object]:
        """Backend fields for ``/healthz``; ``healthy`` is False when it cannot serve."""

    def housekeeping(self) -> None:
        """Periodic pruning of in-process state."""

    async def say_goodbye(self, name: str, text: Callable[[str], str]) -> None:
        """Send ``name`` with ``text(user_id)`` to every open stream of this process."""

    async def stop(self) -> None:
        """Stop answers and background work, release the backend (after serving)."""

    def admin_stores(self, journal_size: int) -> tuple[RuleStore | None, JournalStore]:
        """Where the admin API keeps scripts (None: in the rule book, this process only)
        and the journal (``journal_size`` entries)."""


def make_broker(settings: Settings, metrics: Metrics, rules: RuleBook) -> Broker:
    """The broker ``[broker] backend`` names."""
    if settings.broker.backend == "redis":
        from .redis.broker import RedisBroker

        return RedisBroker(settings, metrics, rules)
    return MemoryBroker(settings, metrics, rules)

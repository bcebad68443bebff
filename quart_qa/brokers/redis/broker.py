"""The Redis broker: users' streams, queues, leases and limits shared by every node.

A user's events are ``XADD``-ed to the user's stream (trimmed to about ``stream.history``
entries, expiring ``stream.history_ttl`` after use); each node runs one reader that follows
the streams of its connected users and fans them out locally, so every tab on every node
gets every event, in one order, with one set of ids (the stream ids). The rules that span
nodes are Lua scripts (:mod:`quart_qa.brokers.redis.scripts`); see docs/scaling.md.

The broker composes its parts: :class:`~.link.NodeLink` (clients, scripts, health),
:class:`~.admission.Admission` (streams and connection limits), :class:`~.questions.Questions`
(asks and cancels), :class:`~.sweeper.Sweeper` (leases and dead nodes), the
:class:`~.reader.StreamReader` and the :class:`~.runner.RedisAnswerRunner`; with ``[admin]``
on, the shared scripts (:mod:`~.rule_store`) and journal (:mod:`~.journal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from redis.exceptions import RedisError

from ...settings.config import Settings
from ...streaming.answer_runner import Answer, CancelResult
from ...streaming.broadcast import Connection
from ...streaming.metrics import Metrics
from ...streaming.rulebook import RuleBook
from .admission import Admission
from .client import check_redis, redacted
from .journal import RedisJournal
from .link import NodeLink, entry_of
from .mirror import MirroredBroadcast, MirrorRegistry
from .questions import Questions
from .reader import StreamReader
from .rule_store import RedisRuleStore
from .runner import RedisAnswerRunner, RedisContext
from .sweeper import Sweeper
from .wire import WireConnection, supported

log = logging.getLogger("quart_qa.redis")


class RedisBroker:
    """Streams, answers and limits shared through Redis by any number of nodes."""

    name = "redis"

    def __init__(self, settings: Settings, metrics: Metrics, rules: RuleBook) -> None:
        broker = settings.broker
        self._link = link = NodeLink(settings)
        self.node = link.node
        self._reader = StreamReader(
            link.reader_pool, link.client, lambda user: link.keys(user).events, link.set_health
        )
        self._admission = Admission(link, self._reader)
        self.registry: MirrorRegistry = self._admission.registry
        self.runner = RedisAnswerRunner(
            settings,
            self.registry,
            metrics,
            rules,
            RedisContext(
                link.client,
                link.scripts,
                link.keys,
                link.node,
                link.lease_ms,
                link.ttl_ms,
                link.maxlen,
                link.set_health,
                WireConnection(broker.url, broker.connect_timeout)
                if supported(broker.url)
                else None,
                self,
            ),
        )
        self._questions = Questions(link, self.runner)
        self._sweeper = Sweeper(link, self._admission, self.runner)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def available(self) -> bool:
        """Whether Redis answered last time it was asked."""
        return self._link.available

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        link = self._link
        broker = link.settings.broker
        await check_redis(broker.url, broker.connect_timeout)
        await link.scripts.load()
        link.available = True
        loop = asyncio.get_running_loop()
        self._tasks += [
            loop.create_task(self._reader.run(), name="redis-reader"),
            loop.create_task(self._admission.flush_counts(), name="redis-counts"),
            loop.create_task(self._sweeper.run(), name="redis-upkeep"),
            loop.create_task(self._questions.follow_control(), name="redis-control"),
        ]
        log.info("redis broker: node %s on %s", link.node, redacted(broker.url))

    async def stop(self) -> None:
        link = self._link
        link.stopping = True
        for task in self._tasks:
            await _cancel(task)
        self._tasks.clear()
        await self._reader.stop()
        await self.runner.shutdown()
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with (
                asyncio.timeout(1.0),  # forget this node's connections at once
                link.client.pipeline(transaction=False) as pipe,
            ):
                self._admission.sync_node(pipe, 0)
                for mirror in self.registry.mirrors():
                    self._admission.sync_user(pipe, mirror.user_id, 0)
                await pipe.execute()
        await link.client.aclose()
        await link.reader_pool.aclose()

    def health(self) -> Mapping[str, object]:
        return {
            "broker": self.name,
            "healthy": self.available,
            "redis": "ok" if self.available else "unavailable",
            "node": self.node,
        }

    def housekeeping(self) -> None:
        return None

    def admin_stores(self, journal_size: int) -> tuple[RedisRuleStore, RedisJournal]:
        return RedisRuleStore(self._link), RedisJournal(self._link, journal_size)

    async def say_goodbye(self, name: str, text: Callable[[str], str]) -> None:
        for mirror in self.registry.mirrors():  # this node only: the others stay up
            if mirror.subscriber_count:
                mirror.announce(name, text(mirror.user_id))

    # -- the parts' work -----------------------------------------------------------------

    async def open(self, user_id: str, last_event_id: str | None) -> Connection:
        return await self._admission.open(user_id, last_event_id)

    async def submit(self, user_id: str, question: str) -> Answer:
        return await self._questions.submit(user_id, question)

    async def cancel(self, user_id: str) -> CancelResult:
        return await self._questions.cancel(user_id)

    # -- the lease holder's own delivery (called by the runner) ----------------------------

    async def begin(self, user_id: str, newest: str | None) -> MirroredBroadcast | None:
        """As the lease holder, deliver the user's events here straight from their replies.

        Nobody else writes the stream while this node holds the lease, so, once the mirror
        has caught up with what was written before (``newest``, the stream's newest id when
        the lease was taken, usually says it has), this node's own events are the stream;
        the reader leaves the stream out meanwhile.
        """
        mirror = self.registry.mirror(user_id)
        if mirror is None or not mirror.seeded or mirror.local_writer:
            return None
        if newest == mirror.cursor:  # nothing written since the mirror's last entry
            self._reader.set_local(mirror, True)
            return mirror
        try:
            entries = await self._link.client.xrange(
                self._link.keys(user_id).events, min=f"({mirror.cursor}", max="+"
            )
        except (RedisError, OSError):
            return None  # the reader goes on delivering
        if self.registry.mirror(user_id) is not mirror or mirror.local_writer:
            return None
        for item in entries or ():
            mirror.deliver_new(entry_of(item))
        self._reader.set_local(mirror, True)
        return mirror

    async def end(self, mirror: MirroredBroadcast) -> None:
        """Give the user's stream back to the reader, from where the mirror got to."""
        await self._reader.take_back(mirror)


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, again if a library swallowed the cancellation."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with %r", task.get_name(), task.exception())

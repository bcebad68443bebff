"""Opening streams under every node's connection limits; this node's counts kept in Redis."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from functools import partial
from typing import Any, cast

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from ...streaming import refusals
from ...streaming.broadcast import Connection
from .keys import nodes_key
from .link import RETRY_MAX, RETRY_MIN, NodeLink, entry_of, reraise_cancel
from .mirror import MirroredBroadcast, MirrorRegistry, parse_stream_id
from .reader import StreamReader
from .scripts import queue

log = logging.getLogger("quart_qa.redis")

MIRROR_TTL = 30.0  # seconds a node keeps a user's mirror after their last local connection


class Admission:
    """This node's connections: admitted by Lua against the limits, counted in Redis."""

    def __init__(self, link: NodeLink, reader: StreamReader) -> None:
        stream = link.settings.stream
        self._link = link
        self._reader = reader
        self.registry = MirrorRegistry(
            stream.queue_size,
            stream.history,
            min(stream.history_ttl, MIRROR_TTL),
            self._changed,
            self._expired,
        )
        self._opening: Counter[str] = Counter()
        self._seeding: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._wake_flush = asyncio.Event()

    async def open(self, user_id: str, last_event_id: str | None) -> Connection:
        """Admit a stream of ``user_id`` resuming after ``last_event_id`` (or refuse it)."""
        link, registry = self._link, self.registry
        limits = link.settings.limits
        after = parse_stream_id(last_event_id)
        with link.call():
            mirror = cast(MirroredBroadcast, registry.acquire(user_id))
            self._opening[user_id] += 1
            try:
                if not mirror.seeded:
                    await self._seed(mirror)
                keys = link.keys(user_id)
                older = mirror.needs_redis(after) and mirror.birth is not None

                def build(pipe: Pipeline) -> None:
                    queue(
                        pipe,
                        link.scripts.admit,
                        [nodes_key(link.prefix)],
                        [
                            link.node,
                            registry.connections + self._opening.total(),
                            limits.max_connections,
                            link.node_ms,
                            0,
                        ],
                    )
                    queue(
                        pipe,
                        link.scripts.admit,
                        [keys.conns],
                        [
                            link.node,
                            mirror.subscriber_count + self._opening[user_id],
                            limits.max_connections_per_user,
                            link.node_ms,
                            link.ttl_ms,
                        ],
                    )
                    if older:
                        birth = mirror.birth or (0, 0)
                        pipe.xrevrange(
                            keys.events, f"{birth[0]}-{birth[1]}", "-", count=link.maxlen
                        )

                replies = await link.pipeline(build)
            except BaseException:
                registry.release(mirror)
                raise
            finally:
                self._opening[user_id] -= 1
                if not self._opening[user_id]:
                    del self._opening[user_id]
        if not replies[0] or not replies[1]:
            registry.release(mirror)
            if not replies[0]:
                raise refusals.TooManyConnections(limits.max_connections)
            raise refusals.TooManyConnectionsForUser(user_id, limits.max_connections_per_user)
        entries = [entry_of(item) for item in reversed(replies[2])] if older else []
        subscription, resume = mirror.subscribe_stream(after, entries)
        registry.connections += 1
        return Connection(registry, mirror, subscription, resume)

    async def _seed(self, mirror: MirroredBroadcast) -> None:
        """Load the stream's newest entry once and start following the stream after it."""
        user_id = mirror.user_id
        while not mirror.seeded:  # a task left from an earlier mirror of the user seeds that one
            task = self._seeding.get(user_id)
            if task is None:
                task = asyncio.get_running_loop().create_task(self._load_newest(mirror))
                self._seeding[user_id] = task
                task.add_done_callback(lambda done: self._forget_seeding(user_id, done))
            await asyncio.shield(task)

    def _forget_seeding(self, user_id: str, task: asyncio.Task[None]) -> None:
        if self._seeding.get(user_id) is task:
            del self._seeding[user_id]

    async def _load_newest(self, mirror: MirroredBroadcast) -> None:
        newest = await self._link.client.xrevrange(self._link.keys(mirror.user_id).events, count=1)
        if not mirror.seeded:
            mirror.seed(entry_of(newest[0]) if newest else None)
            if self.registry.get(mirror.user_id) is mirror:
                self._reader.watch(mirror)

    def _changed(self, user_id: str) -> None:
        self._dirty.add(user_id)
        self._wake_flush.set()

    def _expired(self, mirror: MirroredBroadcast) -> None:
        self._reader.unwatch(mirror)

    async def flush_counts(self) -> None:
        """Write changed local connection counts to Redis, in one pipeline per batch."""
        delay = RETRY_MIN
        while not self._link.stopping:
            await self._wake_flush.wait()
            self._wake_flush.clear()
            users, self._dirty = self._dirty, set()
            try:
                await self._link.pipeline(partial(self._sync_counts, users))
                delay = RETRY_MIN
            except (RedisError, OSError) as error:
                reraise_cancel()
                log.debug("redis: connection counts not written: %s", error)
                self._dirty |= users
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                self._wake_flush.set()

    def _sync_counts(self, users: set[str], pipe: Pipeline) -> None:
        self.sync_node(pipe)
        for user_id in users:
            self.sync_user(pipe, user_id)

    def sync_node(self, pipe: Any, count: int | None = None) -> None:
        """Queue this node's total connection count (``count`` instead, when given)."""
        link = self._link
        if count is None:
            count = self.registry.connections + self._opening.total()
        queue(
            pipe, link.scripts.sync, [nodes_key(link.prefix)], [link.node, count, link.node_ms, 0]
        )

    def sync_user(self, pipe: Any, user_id: str, count: int | None = None) -> None:
        """Queue this node's connection count of ``user_id`` (``count`` instead, when given)."""
        link = self._link
        if count is None:
            mirror = self.registry.mirror(user_id)
            count = (mirror.subscriber_count if mirror else 0) + self._opening[user_id]
        keys = link.keys(user_id)
        queue(
            pipe,
            link.scripts.sync,
            [keys.conns, keys.events],
            [link.node, count, link.node_ms, link.ttl_ms],
        )

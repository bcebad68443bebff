"""This node's link to Redis: its id, clients, scripts, timings, and whether Redis answers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from redis.asyncio import ConnectionPool
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, RedisError

from ...settings.config import Settings
from ...streaming import refusals
from .client import redis_client
from .keys import UserKeys, user_keys
from .mirror import Entry
from .scripts import Scripts

log = logging.getLogger("quart_qa.redis")

RETRY_MIN, RETRY_MAX = 0.05, 1.0  # seconds between retries of a background loop


class NodeLink:
    """What every part of the Redis broker shares: one per broker."""

    def __init__(self, settings: Settings) -> None:
        broker, stream = settings.broker, settings.stream
        self.settings = settings
        self.prefix = broker.prefix
        self.node = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.client = redis_client(broker.url, broker.connect_timeout)
        self.reader_pool = ConnectionPool.from_url(  # the reader's connection, always blocked
            broker.url, decode_responses=True, socket_connect_timeout=broker.connect_timeout
        )
        self.scripts = Scripts(self.client)
        self.available = False
        self.stopping = False
        self.lease_ms = round(broker.lease_ttl * 1000)
        self.node_ms = round(broker.node_ttl * 1000)
        self.ttl_ms = round((stream.history_ttl + broker.node_ttl) * 1000)  # of a user's keys
        self.maxlen = stream.history + 1
        self.wake_upkeep = asyncio.Event()  # the sweeper looks at once
        self.refresh_all = True  # the sweeper rewrites every count on its next tick
        self._closing_idle: asyncio.Task[None] | None = None

    def keys(self, user_id: str) -> UserKeys:
        """The Redis keys of ``user_id``."""
        return user_keys(self.prefix, user_id)

    def set_health(self, ok: bool) -> None:
        """Record whether Redis answered; log each change once."""
        if ok and not self.available:
            log.info("redis is reachable again")
            self.refresh_all = True
            self.wake_upkeep.set()
        elif not ok and self.available:
            log.warning("redis is unreachable: refusing questions and new streams until it returns")
            # idle pooled connections are dead too: close them now, not on their next use
            self._closing_idle = asyncio.get_running_loop().create_task(self._close_idle())
        self.available = ok

    async def _close_idle(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self.client.connection_pool.disconnect(inuse_connections=False)

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        """Refuse while Redis is away; turn a failure into :class:`BrokerUnavailable`."""
        if not self.available:
            raise refusals.BrokerUnavailable()
        try:
            yield
        except (RedisError, OSError) as error:
            log.warning("redis: %s", error)
            self.set_health(False)
            self.wake_upkeep.set()
            raise refusals.BrokerUnavailable() from None

    async def pipeline(self, build: Callable[[Pipeline], None]) -> list[Any]:
        """Run the commands ``build`` queues in one round trip (reloading scripts once)."""
        for attempt in range(2):
            async with self.client.pipeline(transaction=False) as pipe:
                build(pipe)
                try:
                    return list(await pipe.execute())
                except NoScriptError:
                    if attempt:
                        raise
            await self.scripts.load()  # Redis restarted (or flushed its scripts)
        raise AssertionError("unreachable")


def reraise_cancel() -> None:
    """redis-py may turn a cancellation into a connection error: let it cancel still."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def entry_of(item: Any) -> Entry:
    """A stream entry as redis-py returns it, as a mirror :class:`Entry`."""
    stream_id, fields = item
    return Entry(str(stream_id), str(fields.get("e", "")), str(fields.get("d", "")))

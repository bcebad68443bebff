"""The Redis broker: users' streams, queues, leases and limits shared by every node.

A user's events are ``XADD``-ed to the user's stream (trimmed to about ``stream.history``
entries, expiring ``stream.history_ttl`` after use); each node runs one reader that follows
the streams of its connected users and fans them out locally, so every tab on every node
gets every event, in one order, with one set of ids (the stream ids). The rules that span
nodes are Lua scripts (:mod:`quart_qa.brokers.redis.scripts`); see docs/scaling.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any, cast

from redis.asyncio import ConnectionPool
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError, RedisError

from ...settings.answers import choose_rule
from ...settings.config import Settings
from ...streaming import refusals
from ...streaming.answer_runner import Answer, CancelResult, render
from ...streaming.broadcast import Connection
from ...streaming.metrics import Metrics
from .client import check_redis, redacted, redis_client
from .keys import UserKeys, control_channel, nodes_key, user_keys
from .mirror import Entry, MirroredBroadcast, MirrorRegistry, parse_stream_id
from .reader import StreamReader
from .runner import RedisAnswerRunner, RedisContext, queued_payload
from .scripts import Scripts, queue
from .wire import WireConnection, supported

log = logging.getLogger("quart_qa.redis")

MIRROR_TTL = 30.0  # seconds a node keeps a user's mirror after their last local connection
RETRY_MIN, RETRY_MAX = 0.05, 1.0


class RedisBroker:
    """Streams, answers and limits shared through Redis by any number of nodes."""

    name = "redis"

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        broker, stream = settings.broker, settings.stream
        self._settings = settings
        self._prefix = broker.prefix
        self.node = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._client = redis_client(broker.url, broker.connect_timeout)
        self._reader_pool = ConnectionPool.from_url(  # the reader's connection, always blocked
            broker.url, decode_responses=True, socket_connect_timeout=broker.connect_timeout
        )
        self._scripts = Scripts(self._client)
        self.available = False
        self._lease_ms = round(broker.lease_ttl * 1000)
        self._node_ms = round(broker.node_ttl * 1000)
        self._ttl_ms = round((stream.history_ttl + broker.node_ttl) * 1000)
        self._maxlen = stream.history + 1
        self.registry: MirrorRegistry = MirrorRegistry(
            stream.queue_size,
            stream.history,
            min(stream.history_ttl, MIRROR_TTL),
            self._changed,
            self._expired,
        )
        self.runner = RedisAnswerRunner(
            settings,
            self.registry,
            metrics,
            RedisContext(
                self._client,
                self._scripts,
                self.keys,
                self.node,
                self._lease_ms,
                self._ttl_ms,
                self._maxlen,
                self._health,
                WireConnection(broker.url, broker.connect_timeout)
                if supported(broker.url)
                else None,
                self,
            ),
        )
        self._reader = StreamReader(
            self._reader_pool, self._client, lambda user: self.keys(user).events, self._health
        )
        self._opening: Counter[str] = Counter()
        self._seeding: dict[str, asyncio.Task[None]] = {}
        self._dirty: set[str] = set()
        self._wake_flush = asyncio.Event()
        self._wake_upkeep = asyncio.Event()
        self._refresh_all = True
        self._stopping = False
        self._closing_idle: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def keys(self, user_id: str) -> UserKeys:
        """The Redis keys of ``user_id``."""
        return user_keys(self._prefix, user_id)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        broker = self._settings.broker
        await check_redis(broker.url, broker.connect_timeout)
        await self._scripts.load()
        self.available = True
        loop = asyncio.get_running_loop()
        self._tasks += [
            loop.create_task(self._reader.run(), name="redis-reader"),
            loop.create_task(self._flush_counts(), name="redis-counts"),
            loop.create_task(self._upkeep(), name="redis-upkeep"),
            loop.create_task(self._control(), name="redis-control"),
        ]
        log.info("redis broker: node %s on %s", self.node, redacted(broker.url))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            await _cancel(task)
        self._tasks.clear()
        await self._reader.stop()
        await self.runner.shutdown()
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with (
                asyncio.timeout(1.0),  # forget this node's connections at once
                self._client.pipeline(transaction=False) as pipe,
            ):
                queue(
                    pipe,
                    self._scripts.sync,
                    [nodes_key(self._prefix)],
                    [self.node, 0, self._node_ms, 0],
                )
                for mirror in self.registry.mirrors():
                    keys = self.keys(mirror.user_id)
                    queue(
                        pipe,
                        self._scripts.sync,
                        [keys.conns, keys.events],
                        [self.node, 0, self._node_ms, self._ttl_ms],
                    )
                await pipe.execute()
        await self._client.aclose()
        await self._reader_pool.aclose()

    def health(self) -> Mapping[str, object]:
        return {
            "broker": self.name,
            "healthy": self.available,
            "redis": "ok" if self.available else "unavailable",
            "node": self.node,
        }

    def housekeeping(self) -> None:
        return None

    async def say_goodbye(self, name: str, text: Callable[[str], str]) -> None:
        for mirror in self.registry.mirrors():  # this node only: the others stay up
            if mirror.subscriber_count:
                mirror.announce(name, text(mirror.user_id))

    def _health(self, ok: bool) -> None:
        if ok and not self.available:
            log.info("redis is reachable again")
            self._refresh_all = True
            self._wake_upkeep.set()
        elif not ok and self.available:
            log.warning("redis is unreachable: refusing questions and new streams until it returns")
            # idle pooled connections are dead too: close them now, not on their next use
            self._closing_idle = asyncio.get_running_loop().create_task(self._close_idle())
        self.available = ok

    async def _close_idle(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._client.connection_pool.disconnect(inuse_connections=False)

    @contextlib.contextmanager
    def _redis_call(self) -> Iterator[None]:
        """Refuse while Redis is away; turn a failure into 503 ``broker_unavailable``."""
        if not self.available:
            raise refusals.BrokerUnavailable()
        try:
            yield
        except (RedisError, OSError) as error:
            log.warning("redis: %s", error)
            self._health(False)
            self._wake_upkeep.set()
            raise refusals.BrokerUnavailable() from None

    # -- connections -------------------------------------------------------------------

    async def open(self, user_id: str, last_event_id: str | None) -> Connection:
        settings, registry = self._settings, self.registry
        after = parse_stream_id(last_event_id)
        with self._redis_call():
            mirror = cast(MirroredBroadcast, registry.acquire(user_id))
            self._opening[user_id] += 1
            try:
                if not mirror.seeded:
                    await self._seed(mirror)
                keys = self.keys(user_id)
                limits = settings.limits
                older = mirror.needs_redis(after) and mirror.birth is not None

                def build(pipe: Pipeline) -> None:
                    queue(
                        pipe,
                        self._scripts.admit,
                        [nodes_key(self._prefix)],
                        [
                            self.node,
                            registry.connections + self._opening.total(),
                            limits.max_connections,
                            self._node_ms,
                            0,
                        ],
                    )
                    queue(
                        pipe,
                        self._scripts.admit,
                        [keys.conns],
                        [
                            self.node,
                            mirror.subscriber_count + self._opening[user_id],
                            limits.max_connections_per_user,
                            self._node_ms,
                            self._ttl_ms,
                        ],
                    )
                    if older:
                        birth = mirror.birth or (0, 0)
                        pipe.xrevrange(
                            keys.events, f"{birth[0]}-{birth[1]}", "-", count=self._maxlen
                        )

                replies = await self._pipeline(build)
            except BaseException:
                self.registry.release(mirror)
                raise
            finally:
                self._opening[user_id] -= 1
                if not self._opening[user_id]:
                    del self._opening[user_id]
        if not replies[0] or not replies[1]:
            self.registry.release(mirror)
            if not replies[0]:
                raise refusals.TooManyConnections(settings.limits.max_connections)
            raise refusals.TooManyConnectionsForUser(
                user_id, settings.limits.max_connections_per_user
            )
        entries = [_entry(item) for item in reversed(replies[2])] if older else []
        subscription, resume = mirror.subscribe_stream(after, entries)
        registry.connections += 1
        return Connection(registry, mirror, subscription, resume)

    async def _pipeline(self, build: Callable[[Pipeline], None]) -> list[Any]:
        """Run the commands ``build`` queues in one round trip (reloading scripts once)."""
        for attempt in range(2):
            async with self._client.pipeline(transaction=False) as pipe:
                build(pipe)
                try:
                    return list(await pipe.execute())
                except NoScriptError:
                    if attempt:
                        raise
            await self._scripts.load()  # Redis restarted (or flushed its scripts)
        raise AssertionError("unreachable")

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
        newest = await self._client.xrevrange(self.keys(mirror.user_id).events, count=1)
        if not mirror.seeded:
            mirror.seed(_entry(newest[0]) if newest else None)
            if self.registry.get(mirror.user_id) is mirror:
                self._reader.watch(mirror)

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
            entries = await self._client.xrange(
                self.keys(user_id).events, min=f"({mirror.cursor}", max="+"
            )
        except (RedisError, OSError):
            return None  # the reader goes on delivering
        if self.registry.mirror(user_id) is not mirror or mirror.local_writer:
            return None
        for item in entries or ():
            mirror.deliver_new(_entry(item))
        self._reader.set_local(mirror, True)
        return mirror

    async def end(self, mirror: MirroredBroadcast) -> None:
        """Give the user's stream back to the reader, from where the mirror got to."""
        await self._reader.take_back(mirror)

    def _changed(self, user_id: str) -> None:
        self._dirty.add(user_id)
        self._wake_flush.set()

    def _expired(self, mirror: MirroredBroadcast) -> None:
        self._reader.unwatch(mirror)

    async def _flush_counts(self) -> None:
        """Write changed local connection counts to Redis, in one pipeline per batch."""
        delay = RETRY_MIN
        while not self._stopping:
            await self._wake_flush.wait()
            self._wake_flush.clear()
            users, self._dirty = self._dirty, set()
            try:
                await self._pipeline(partial(self._sync_counts, users))
                delay = RETRY_MIN
            except (RedisError, OSError) as error:
                _reraise_cancel()
                log.debug("redis: connection counts not written: %s", error)
                self._dirty |= users
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                self._wake_flush.set()

    def _sync_counts(self, users: set[str], pipe: Pipeline) -> None:
        self._sync_node(pipe)
        for user_id in users:
            self._sync_user(pipe, user_id)

    def _sync_node(self, pipe: Any) -> None:
        count = self.registry.connections + self._opening.total()
        queue(
            pipe,
            self._scripts.sync,
            [nodes_key(self._prefix)],
            [self.node, count, self._node_ms, 0],
        )

    def _sync_user(self, pipe: Any, user_id: str) -> None:
        mirror = self.registry.mirror(user_id)
        count = (mirror.subscriber_count if mirror else 0) + self._opening[user_id]
        keys = self.keys(user_id)
        queue(
            pipe,
            self._scripts.sync,
            [keys.conns, keys.events],
            [self.node, count, self._node_ms, self._ttl_ms],
        )

    # -- the ticker: liveness, leases, dead nodes ----------------------------------------

    async def _upkeep(self) -> None:
        broker = self._settings.broker
        interval = min(broker.lease_ttl, broker.node_ttl) / 3
        counts_every = broker.node_ttl / 3
        counted = 0.0
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake_upkeep.wait()
            self._wake_upkeep.clear()
            now = time.monotonic()
            refresh_counts = self._refresh_all or now - counted >= counts_every
            try:
                await self._tick(refresh_counts)
            except (RedisError, OSError) as error:
                _reraise_cancel()
                self._health(False)
                log.debug("redis upkeep: %s", error)
                continue
            self._health(True)
            if refresh_counts:
                counted = now
                self._refresh_all = False

    async def _tick(self, refresh_counts: bool) -> None:
        if not self.available:
            await self._client.ping()
        mirrors = list(self.registry.mirrors())
        running = self.runner.running()
        swept = [m.user_id for m in mirrors if m.answering and m.user_id not in running]

        def build(pipe: Pipeline) -> None:
            self._sync_node(pipe)
            if refresh_counts:
                for mirror in mirrors:
                    self._sync_user(pipe, mirror.user_id)
            for user_id, answer_id in running.items():
                keys = self.keys(user_id)
                queue(
                    pipe,
                    self._scripts.refresh,
                    [keys.lease, keys.running],
                    [self.node, answer_id, self._lease_ms, self._ttl_ms],
                )
            lost_text = self._settings.messages.answer_lost
            for user_id in swept:
                keys = self.keys(user_id)
                queue(
                    pipe,
                    self._scripts.sweep,
                    [keys.events, keys.lease, keys.running, keys.queue],
                    [
                        self.node,
                        self._lease_ms,
                        self._ttl_ms,
                        self._maxlen,
                        render(lost_text, user_id=user_id),
                    ],
                )

        replies = await self._pipeline(build)
        for user_id, reply in zip(swept, replies[len(replies) - len(swept) :], strict=True):
            if reply[0] in ("given_up", "drain"):
                log.warning("answer user=%s: its node is gone; sent ERROR", user_id)
            if reply[0] == "drain":
                self.runner.start(user_id, None)

    # -- questions -----------------------------------------------------------------------

    async def submit(self, user_id: str, question: str) -> Answer:
        settings = self._settings
        limits = settings.limits
        answer = Answer(uuid.uuid4().hex, question, choose_rule(settings.answers, question))
        interval_ms = 60_000 / limits.asks_per_minute if limits.asks_per_minute else 0
        keys = self.keys(user_id)
        with self._redis_call():
            reply = await self._scripts.ask(
                keys=[keys.events, keys.conns, keys.lease, keys.running, keys.queue, keys.rate],
                args=[
                    self.node,
                    answer.answer_id,
                    queued_payload(answer),
                    "1" if settings.stream.on_busy == "reject" else "0",
                    limits.max_pending_answers,
                    interval_ms,
                    60_000 - interval_ms if interval_ms else 0,
                    self._lease_ms,
                    self._ttl_ms,
                    self._maxlen,
                    render(settings.messages.answer_lost, user_id=user_id),
                ],
            )
        status = reply[0]
        if status == "run":
            self.runner.start(user_id, answer, str(reply[1]))
        elif status == "drain":
            self.runner.start(user_id, None)
        elif status != "queued":
            raise _ask_refusal(settings, user_id, status, reply)
        return answer

    async def cancel(self, user_id: str) -> CancelResult:
        keys = self.keys(user_id)
        with self._redis_call():
            reply = await self._scripts.cancel(
                keys=[keys.lease, keys.running, keys.queue, keys.cancel], args=[self._ttl_ms]
            )
        if reply[0] != "cancelled":
            raise refusals.NothingRunning(user_id)
        answer_id, dropped, holder = str(reply[1]), int(reply[2]), str(reply[3])
        if holder == self.node:
            self.runner.local_cancel(user_id, answer_id)
        else:  # tell its node, so it stops now rather than at its next event
            with contextlib.suppress(RedisError, OSError):
                await self._client.publish(
                    control_channel(self._prefix, holder), f"cancel\t{user_id}\t{answer_id}"
                )
        return CancelResult(answer_id, dropped)

    async def _control(self) -> None:
        """Cancels that other nodes forward to this one (Redis Pub/Sub, at most once).

        If a message is lost (Redis away), the answer still stops at its next event: the
        cancel is in Redis, and the emit script checks it.
        """
        delay = RETRY_MIN
        while not self._stopping:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(control_channel(self._prefix, self.node))
                delay = RETRY_MIN
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    if message is not None and message.get("type") == "message":
                        self._on_control(str(message["data"]))
            except (RedisError, OSError) as error:
                _reraise_cancel()
                log.debug("redis control channel: %s", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _on_control(self, message: str) -> None:
        command, _, rest = message.partition("\t")
        if command == "cancel":
            user_id, _, answer_id = rest.partition("\t")
            self.runner.local_cancel(user_id, answer_id)


async def _cancel(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, again if a library swallowed the cancellation."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        log.warning("%s ended with %r", task.get_name(), task.exception())


def _reraise_cancel() -> None:
    """redis-py may turn a cancellation into a connection error: let it cancel still."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _ask_refusal(
    settings: Settings, user_id: str, status: str, reply: list[Any]
) -> refusals.Refused:
    if status == "not_connected":
        return refusals.NotConnected(user_id)
    if status == "busy":
        return refusals.Busy()
    if status == "too_many_pending":
        return refusals.TooManyPending(int(reply[1]))
    if status == "rate_limited":
        return refusals.RateLimited(settings.limits.asks_per_minute, int(reply[1]) / 1000)
    raise RuntimeError(f"unexpected reply from the ask script: {reply!r}")


def _entry(item: Any) -> Entry:
    stream_id, fields = item
    return Entry(str(stream_id), str(fields.get("e", "")), str(fields.get("d", "")))

"""Answers under a Redis lease: the node that accepted a question streams it.

The lease (``qa:{user}:lease``, the node id, expiring after ``broker.lease_ttl``) says
which node runs the user's answers; it is refreshed with every event (in the same script
as the ``XADD``) and by the node's ticker during long pauses. The lease holder drains the
user's queue and gives the lease up only when the queue is empty, atomically, so a
question queued meanwhile is never stranded. Pacing, timeouts and outcomes are the
in-memory runner's own (:class:`~quart_qa.streaming.answer_runner.AnswerRunner`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ...settings.config import Settings
from ...streaming.answer_runner import Answer, AnswerRunner, Outcome, UserAnswers
from ...streaming.broadcast import BroadcastRegistry
from ...streaming.metrics import Metrics
from ...streaming.rulebook import RuleBook
from .batch import ScriptBatcher
from .keys import UserKeys
from .mirror import TERMINAL_EVENTS, Entry, MirroredBroadcast
from .scripts import Scripts
from .wire import WireConnection

log = logging.getLogger("quart_qa.settings.answers")

RETRY_MIN, RETRY_MAX = 0.05, 1.0
TERMINAL_RETRY = 5.0  # seconds a final event keeps trying while Redis is away
WINDOW = 64  # chunks of one answer in flight at most


class LocalDelivery(Protocol):
    """How the lease holder delivers its own events to this node's connections."""

    async def begin(self, user_id: str, newest: str | None) -> MirroredBroadcast | None:
        """Take over delivery of the user's stream here (None: leave it to the reader)."""

    async def end(self, mirror: MirroredBroadcast) -> None:
        """Give delivery back to the reader."""


class AnswerLost(Exception):
    """Another node took the user's answers over (this node's lease lapsed)."""


@dataclass(frozen=True)
class RedisContext:
    """What the runner needs from the broker."""

    client: Redis
    scripts: Scripts
    keys: Callable[[str], UserKeys]
    node: str
    lease_ms: int
    ttl_ms: int  # of a user's keys after their last use
    maxlen: int
    on_health: Callable[[bool], None]
    wire: WireConnection | None  # the lean connection for events, when the URL allows
    local: LocalDelivery


def queued_payload(answer: Answer) -> str:
    """How a question waits in the user's Redis queue."""
    return json.dumps({"id": answer.answer_id, "q": answer.question}, ensure_ascii=False)


class RedisSink:
    """One answer's view of its user's stream: publish by script, watchers from Redis.

    Chunks do not wait for their reply: up to ``WINDOW`` are in flight, so a fast answer
    costs one round trip per batch rather than per chunk. Replies are applied in order
    as they come back; a cancel seen by another node, or a lost lease, stops the answer
    at the first chunk Redis refused. A final event waits for everything before it.
    """

    def __init__(
        self,
        runner: RedisAnswerRunner,
        user_id: str,
        answer: Answer,
        local: MirroredBroadcast | None = None,
    ) -> None:
        self._runner = runner
        self._answer = answer
        self._local = local  # deliver to it as Redis accepts each event
        self.user_id = user_id
        self._keys, self._head = runner.emit_arguments(user_id, answer.answer_id)
        self._inflight: deque[asyncio.Future[list[Any]]] = deque()
        self._watchers = 1  # the ask found a connection
        self._idle_for = 0.0
        self._observed = time.monotonic()

    @property
    def subscriber_count(self) -> int:
        return self._watchers

    def unwatched_for(self) -> float:
        if self._watchers:
            return 0.0
        return self._idle_for + time.monotonic() - self._observed

    async def publish(self, name: str, data: str) -> None:
        terminal = name in TERMINAL_EVENTS
        args = [*self._head, "1" if terminal else "0", name, data]
        inflight = self._inflight
        future = self._runner.emits.submit(self._keys, args)
        if self._local is not None:
            future.add_done_callback(partial(_deliver_local, self._local, name, data))
        inflight.append(future)
        if not terminal:
            while inflight and (len(inflight) > WINDOW or inflight[0].done()):
                self._apply(await inflight.popleft())
            return
        try:  # the end of the answer: everything before it has been decided already
            async with asyncio.timeout(TERMINAL_RETRY):
                replies = [await future for future in inflight]
        except TimeoutError:
            raise AnswerLost(self._answer.answer_id) from None
        finally:
            self._drop_inflight()
        for reply in replies[:-1]:
            self._observe(reply)
        if replies[-1][0] != "ok":
            raise AnswerLost(self._answer.answer_id)

    async def publish_malformed(self, name: str, data: str) -> None:
        """The Redis stream carries names and texts, not frames: sent well-formed."""
        await self.publish(name, data)

    def drop_connections(self) -> None:
        """Cut this node's connections of the user (other nodes' stay up)."""
        if self._local is not None:
            self._local.drop_connections()

    def hold_heartbeats(self, held: bool) -> None:
        """Hold this node's heartbeats to the user (other nodes keep beating)."""
        if self._local is not None:
            self._local.hold_heartbeats(held)

    def _observe(self, reply: list[Any]) -> None:
        if reply[0] == "ok":
            self._watchers = int(reply[2])
            self._idle_for = int(reply[3]) / 1000
            self._observed = time.monotonic()

    def _apply(self, reply: list[Any]) -> None:
        status = reply[0]
        if status == "ok":
            self._observe(reply)
            return
        self._drop_inflight()
        if status == "cancelled":  # a cancel on another node: end as a local cancel would
            self._answer.stop_outcome = Outcome.CANCELLED
            raise asyncio.CancelledError
        raise AnswerLost(self._answer.answer_id)

    def _drop_inflight(self) -> None:
        for future in self._inflight:
            future.add_done_callback(_ignore)
        self._inflight.clear()


def _deliver_local(
    mirror: MirroredBroadcast, name: str, data: str, future: asyncio.Future[list[Any]]
) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    reply = future.result()
    if reply[0] == "ok":
        mirror.deliver_new(Entry(str(reply[1]), name, data))


def _ignore(future: asyncio.Future[list[Any]]) -> None:
    if not future.cancelled():
        future.exception()


class RedisAnswerRunner(AnswerRunner):
    """Runs the answers whose lease this node holds."""

    def __init__(
        self,
        settings: Settings,
        registry: BroadcastRegistry,
        metrics: Metrics,
        rules: RuleBook,
        redis: RedisContext,
    ) -> None:
        super().__init__(settings, registry, metrics, rules)
        self._redis = redis
        self._closing = False
        self.emits = ScriptBatcher(redis.client, redis.scripts.emit, redis.wire, redis.on_health)
        self.on_health = redis.on_health

    def start(self, user_id: str, first: Answer | None, newest: str | None = None) -> None:
        """Run ``first`` (None: the head of the queue) and then the user's queue.

        ``newest`` is the stream's newest id when the lease was taken, if known.
        """
        previous = self._users.get(user_id)
        user = UserAnswers()
        self._users[user_id] = user
        user.task = asyncio.get_running_loop().create_task(
            self._drain(user_id, user, first, previous, newest), name=f"answers:{user_id}"
        )

    def running(self) -> dict[str, str]:
        """User id -> id of the answer streaming now, for lease refreshes."""
        return {
            user_id: user.current.answer_id
            for user_id, user in self._users.items()
            if user.current is not None
        }

    def local_cancel(self, user_id: str, answer_id: str) -> None:
        """Stop at once an answer this node runs (a cancel seen by this node)."""
        user = self._users.get(user_id)
        if user is not None and user.current is not None and user.current.answer_id == answer_id:
            self._stop(user, Outcome.CANCELLED)

    def emit_arguments(self, user_id: str, answer_id: str) -> tuple[list[str], list[str | int]]:
        """The keys and leading arguments of the emit script for one answer."""
        ctx = self._redis
        keys = ctx.keys(user_id)
        return (
            [keys.events, keys.conns, keys.lease, keys.running, keys.cancel],
            [ctx.node, answer_id, ctx.lease_ms, ctx.ttl_ms, ctx.maxlen],
        )

    async def retrying(self, call: Callable[[], Awaitable[Any]], limit: float | None) -> list[Any]:
        """``call()`` until Redis answers; backs off, gives up after ``limit`` seconds."""
        deadline = None if limit is None else time.monotonic() + limit
        delay = RETRY_MIN
        while True:
            try:
                return list(await call())
            except RedisError as error:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                self._redis.on_health(False)
                if deadline is not None and time.monotonic() + delay > deadline:
                    raise AnswerLost(str(error)) from error
                log.warning("redis: %s; retrying in %.2fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _next(self, user_id: str, done: Answer | None, drop: bool) -> Answer | None:
        """The next queued question, or None after giving the lease up (atomically)."""
        ctx = self._redis
        keys = ctx.keys(user_id)
        args: list[str | int] = [
            ctx.node,
            ctx.lease_ms,
            ctx.ttl_ms,
            "1" if drop else "0",
            done.answer_id if done else "",
        ]

        def call() -> Awaitable[Any]:
            return ctx.scripts.next(keys=[keys.lease, keys.running, keys.queue], args=args)

        reply = await self.retrying(call, TERMINAL_RETRY)
        if reply[0] != "next":
            return None
        item = json.loads(str(reply[1]))
        question = str(item["q"])
        # Chosen (and counted) when it was asked; looked up again here without counting.
        choice = await self.rules.choose_shared(question, count=False)
        return Answer(str(item["id"]), question, choice.rule)

    async def _drain(
        self,
        user_id: str,
        user: UserAnswers,
        answer: Answer | None,
        previous: UserAnswers | None,
        newest: str | None,
    ) -> None:
        local: MirroredBroadcast | None = None
        try:
            if previous is not None and previous.task is not None:
                await asyncio.gather(previous.task, return_exceptions=True)
            local = await self._redis.local.begin(user_id, newest)  # this node holds the lease
            if answer is None:
                answer = await self._next(user_id, None, drop=self._closing)
            while answer is not None:
                user.current = answer
                outcome = await self._run_one(RedisSink(self, user_id, answer, local), answer)
                user.current = None
                drop = self._closing or outcome in (Outcome.ABANDONED, Outcome.SHUTDOWN)
                answer = await self._next(user_id, answer, drop)
        except AnswerLost as lost:
            log.warning("answer user=%s lost its lease (%s); another node took over", user_id, lost)
        finally:
            if local is not None:
                await self._redis.local.end(local)
            user.current = None
            if self._users.get(user_id) is user:
                del self._users[user_id]

    async def finish(self, grace: float) -> None:
        """Let running answers finish for up to ``grace`` seconds, then stop the rest."""
        tasks = self.tasks()
        if tasks and grace > 0:
            await asyncio.wait(tasks, timeout=grace)
        self._closing = True
        for user in tuple(self._users.values()):
            self._stop(user, Outcome.SHUTDOWN)
        await asyncio.gather(*self.tasks(), return_exceptions=True)

    async def shutdown(self) -> None:
        """Cancel every worker and wait for them (cancelling again if Redis I/O ate it)."""
        tasks = self.tasks()
        while tasks:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks, timeout=0.1)
            tasks = [task for task in tasks if not task.done()]
        await self.emits.stop()

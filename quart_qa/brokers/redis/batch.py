"""The single writer of events: every emit, in order, batched per loop turn, retried.

Events due in the same loop turn (one answer's burst of chunks, or many users' paced
chunks) travel in one pipeline: one socket write, one round trip. Batches go out one at a
time, in submission order, and a batch that fails because Redis is away is sent again
(backing off) before anything submitted after it, so every user's events keep their
order even across an outage. Callers get the script's replies; callers that stopped
waiting (their answer timed out or was shut down) have their events dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

from .scripts import queue
from .wire import WireConnection, bulk

log = logging.getLogger("quart_qa.redis")

Call = tuple[list[str], list[str | int], "asyncio.Future[list[Any]]"]
RETRY_MIN, RETRY_MAX = 0.05, 1.0


class ScriptBatcher:
    """Runs one script for many callers, one pipeline per batch, in order."""

    def __init__(
        self,
        client: Redis,
        script: AsyncScript,
        wire: WireConnection | None,
        on_health: Callable[[bool], None],
    ) -> None:
        self._client = client
        self._script = script
        self._wire = wire  # the lean connection, when the URL allows it
        self._on_health = on_health
        self._pending: list[Call] = []
        self._task: asyncio.Task[None] | None = None

    def submit(self, keys: list[str], args: list[str | int]) -> asyncio.Future[list[Any]]:
        """Queue a call; the future gets the script's reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._pending.append((keys, args, future))
        if self._task is None:
            self._task = loop.create_task(self._flush(), name="redis-emit-batch")
        return future

    async def call(self, keys: list[str], args: list[str | int]) -> list[Any]:
        """The script's reply for ``keys`` and ``args``."""
        return await self.submit(keys, args)

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let every event due in this turn join the batch
            while self._pending:
                batch, self._pending = self._pending, []
                replies = await self._send(batch)
                retry = [
                    call for call, reply in zip(batch, replies, strict=True) if _noscript(reply)
                ]
                if retry:  # Redis restarted: load the script and run those again, first
                    with contextlib.suppress(RedisError, OSError):
                        self._script.sha = await self._client.script_load(self._script.script)
                    self._pending[:0] = retry
                for (_, _, future), reply in zip(batch, replies, strict=True):
                    if future.done() or _noscript(reply):
                        continue
                    if isinstance(reply, Exception):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
        except BaseException:
            for _, _, future in self._pending:
                future.cancel()
            self._pending.clear()
            raise
        finally:
            self._task = None

    async def _send(self, batch: list[Call]) -> list[Any]:
        """Send ``batch`` until Redis takes it (backing off while it is away)."""
        delay = RETRY_MIN
        while True:
            batch[:] = [call for call in batch if not call[2].done()]
            if not batch:
                return []
            try:
                replies = await self._execute(batch)
            except (RedisError, OSError) as error:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                self._on_health(False)
                level = logging.WARNING if delay == RETRY_MIN else logging.DEBUG
                log.log(level, "redis: events not written (%s); retrying in %.2fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            self._on_health(True)
            return replies

    async def _execute(self, batch: list[Call]) -> list[Any]:
        wire = self._wire
        if wire is None:
            async with self._client.pipeline(transaction=False) as pipe:
                for keys, args, _ in batch:
                    queue(pipe, self._script, keys, args)
                return list(await pipe.execute(raise_on_error=False))
        head = bulk("EVALSHA") + bulk(self._script.sha)
        packed = b"".join(
            b"*%d\r\n%s%s%s%s"
            % (
                3 + len(keys) + len(args),
                head,
                bulk(str(len(keys))),
                b"".join(map(bulk, keys)),
                b"".join(bulk(arg if isinstance(arg, str) else str(arg)) for arg in args),
            )
            for keys, args, _ in batch
        )
        return await wire.execute(packed, len(batch))

    async def stop(self) -> None:
        """Cancel a batch in flight (at shutdown) and close the lean connection."""
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._wire is not None:
            self._wire.close()


def _noscript(reply: object) -> bool:
    return isinstance(reply, NoScriptError)

"""One pipeline for every answer's next event: the emits ready in one loop turn travel together.

Each answer awaits its own event's reply, so a user's events stay in order; what is
batched is the many users' events that are due at the same moment (a paced answer per
user, hundreds of users), which then cost one round trip and one socket write.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError, RedisError

from .redis_scripts import queue
from .redis_wire import WireConnection, bulk

Call = tuple[list[str], list[str | int], "asyncio.Future[list[Any]]"]


class ScriptBatcher:
    """Runs one script for many callers, one pipeline per batch."""

    def __init__(self, client: Redis, script: AsyncScript, wire: WireConnection | None) -> None:
        self._client = client
        self._script = script
        self._wire = wire  # the lean connection, when the URL allows it
        self._pending: list[Call] = []
        self._task: asyncio.Task[None] | None = None

    async def call(self, keys: list[str], args: list[str | int]) -> list[Any]:
        """The script's reply for ``keys`` and ``args``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        self._pending.append((keys, args, future))
        if self._task is None:
            self._task = loop.create_task(self._flush(), name="redis-emit-batch")
        return await future

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let every answer due in this turn join the batch
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    replies = await self._execute(batch)
                except (RedisError, OSError) as error:
                    failure = error if isinstance(error, RedisError) else RedisError(str(error))
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(failure)
                    continue
                except BaseException:
                    for _, _, future in batch:
                        future.cancel()
                    raise
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
        finally:
            self._task = None

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

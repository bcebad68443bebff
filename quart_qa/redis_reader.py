"""One ``XREAD BLOCK`` loop per process, fanning every user's stream out locally.

The reader follows the streams of the users with a mirror on this node. When that set
grows, the blocked ``XREAD`` is interrupted with ``CLIENT UNBLOCK`` from another
connection (never by polling with short blocks). When Redis goes away the loop backs
off and retries; it continues from the last id each mirror got, so a stream that stayed
open receives what was written meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .redis_mirror import Entry, MirroredBroadcast, stream_key

log = logging.getLogger("quart_qa.redis")

BLOCK_MS = 5_000
BATCH = 1_000
RETRY_MIN, RETRY_MAX = 0.05, 1.0
UNBLOCK_ATTEMPTS = 50


class StreamReader:
    """Reads the streams of the mirrors it is given and delivers their entries."""

    def __init__(
        self,
        client: Redis,
        control: Redis,
        stream_key: Callable[[str], str],
        on_health: Callable[[bool], None],
    ) -> None:
        self._client = client  # a connection of its own: it spends its time blocked
        client.set_response_callback("XREAD", _raw)  # parsed here, without dicts
        self._control = control  # to unblock it
        self._stream_key = stream_key
        self._on_health = on_health
        self._mirrors: dict[str, MirroredBroadcast] = {}  # stream key -> mirror
        self._changed = asyncio.Event()
        self._client_id: int | None = None
        self._blocked = False
        self._generation = 0  # bumped by every watch()
        self._reading = 0  # the generation the pending XREAD was built from
        self._unblocking: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._mirrors)

    def watch(self, mirror: MirroredBroadcast) -> None:
        """Follow ``mirror``'s stream from its cursor on."""
        self._mirrors[self._stream_key(mirror.user_id)] = mirror
        self._generation += 1
        self._changed.set()
        if self._blocked and self._unblocking is None and self._client_id is not None:
            self._unblocking = asyncio.get_running_loop().create_task(
                self._unblock(self._client_id), name="redis-reader-unblock"
            )

    def unwatch(self, mirror: MirroredBroadcast) -> None:
        """Stop following ``mirror``'s stream (takes effect at the next read)."""
        key = self._stream_key(mirror.user_id)
        if self._mirrors.get(key) is mirror:
            del self._mirrors[key]

    async def _unblock(self, client_id: int) -> None:
        """Interrupt the XREAD; retried while the server has not blocked on it yet."""
        try:
            for attempt in range(UNBLOCK_ATTEMPTS):
                if not self._blocked or self._reading == self._generation:
                    return
                if await self._control.client_unblock(client_id):
                    return
                await asyncio.sleep(0.001 * (attempt + 1))
        except RedisError as error:
            log.debug("could not unblock the reader: %s", error)
        finally:
            self._unblocking = None

    async def run(self) -> None:
        """Read until cancelled."""
        delay = RETRY_MIN
        while True:
            if not self._mirrors:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                if self._client_id is None:
                    self._client_id = await self._client.client_id()
                keys = list(self._mirrors)
                cursors = [self._mirrors[key].cursor for key in keys]
                self._changed.clear()
                self._reading = self._generation
                self._blocked = True
                try:
                    reply = await self._client.execute_command(  # type: ignore[no-untyped-call]
                        "XREAD", "COUNT", BATCH, "BLOCK", BLOCK_MS, "STREAMS", *keys, *cursors
                    )
                finally:
                    self._blocked = False
            except RedisError as error:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                self._client_id = None
                self._on_health(False)
                log.warning("redis reader: %s; retrying in %.2fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            delay = RETRY_MIN
            self._on_health(True)
            if reply:
                try:
                    self._deliver(reply)
                except Exception:  # a bug must not silence every stream of the node
                    log.exception("redis reader: could not deliver %r", reply)

    def _deliver(self, reply: Any) -> None:
        """Entries as Redis sends them: ``{key: [[id, [e, name, d, data]], ...]}`` (RESP3)."""
        pairs = reply.items() if isinstance(reply, dict) else reply  # RESP2: [[key, entries]]
        for key, entries in pairs:
            mirror = self._mirrors.get(key)
            if mirror is None:
                continue
            after = stream_key(mirror.cursor)
            for stream_id, fields in entries:
                if stream_key(stream_id) > after:  # a mirror born during the read has it
                    mirror.deliver(Entry(stream_id, fields[1], fields[3]))

    async def stop(self) -> None:
        """Wait for a pending unblock (the loop itself is cancelled by its owner)."""
        if self._unblocking is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._unblocking


def _raw(response: Any, **options: Any) -> Any:
    return response

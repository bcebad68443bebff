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

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from .mirror import Entry, MirroredBroadcast, stream_key

log = logging.getLogger("quart_qa.redis")

BLOCK_MS = 5_000
BATCH = 1_000
READ_TIMEOUT = BLOCK_MS / 1000 + 5.0  # a silent Redis is noticed after this
HEAD = (
    b"$5\r\nXREAD\r\n$5\r\nCOUNT\r\n$%d\r\n%d\r\n$5\r\nBLOCK\r\n$%d\r\n%d\r\n$7\r\nSTREAMS\r\n"
    % (
        len(str(BATCH)),
        BATCH,
        len(str(BLOCK_MS)),
        BLOCK_MS,
    )
)
RETRY_MIN, RETRY_MAX = 0.05, 1.0
UNBLOCK_ATTEMPTS = 50


class StreamReader:
    """Reads the streams of the mirrors it is given and delivers their entries."""

    def __init__(
        self,
        pool: ConnectionPool,
        control: Redis,
        stream_key: Callable[[str], str],
        on_health: Callable[[bool], None],
    ) -> None:
        self._pool = pool  # for a connection of its own: it spends its time blocked
        self._connection: AbstractConnection | None = None
        self._control = control  # to unblock it
        self._stream_key = stream_key
        self._on_health = on_health
        self._mirrors: dict[str, MirroredBroadcast] = {}  # stream key -> mirror
        self._packed_keys = (0, b"")  # (generation, the STREAMS keys as RESP bulk strings)
        self._cursors: dict[str, bytes] = {}  # stream key -> its cursor as a RESP bulk string
        self._key_bulks: dict[str, bytes] = {}  # stream key -> itself as a RESP bulk string
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
        key = self._stream_key(mirror.user_id)
        self._mirrors[key] = mirror
        self._cursors[key] = _bulk(mirror.cursor.encode())
        self._key_bulks[key] = _bulk(key.encode())
        self._generation += 1
        self._changed.set()
        if self._blocked and self._unblocking is None and self._client_id is not None:
            self._unblocking = asyncio.get_running_loop().create_task(
                self._unblock(self._client_id), name="redis-reader-unblock"
            )

    def set_local(self, mirror: MirroredBroadcast, local: bool) -> None:
        """Leave ``mirror``'s stream out while this node is its only writer (or take it back).

        The node then delivers its own events as Redis accepts them; taken back, the stream
        is read again from the last id the mirror got, so nothing written meanwhile is lost.
        """
        if mirror.local_writer == local:
            return
        mirror.local_writer = local
        key = self._stream_key(mirror.user_id)
        if self._mirrors.get(key) is not mirror:
            return
        if local:
            self._generation += 1  # left out of the next XREAD
        else:
            self.watch(mirror)

    async def take_back(self, mirror: MirroredBroadcast) -> None:
        """``set_local(mirror, False)``, returning once the reader reads the stream again."""
        self.set_local(mirror, False)
        task = self._unblocking
        if task is not None:
            await asyncio.shield(task)

    def unwatch(self, mirror: MirroredBroadcast) -> None:
        """Stop following ``mirror``'s stream (takes effect at the next read)."""
        key = self._stream_key(mirror.user_id)
        if self._mirrors.get(key) is mirror:
            del self._mirrors[key]
            del self._cursors[key]
            del self._key_bulks[key]
            self._generation += 1

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
            keys = [key for key, mirror in self._mirrors.items() if not mirror.local_writer]
            if not keys:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                connection = await self._connect()
                if delay > RETRY_MIN:  # connected again after failures: Redis is back
                    self._on_health(True)
                keys = [key for key, mirror in self._mirrors.items() if not mirror.local_writer]
                if not keys:
                    continue
                packed = self._pack(keys)
                self._changed.clear()
                self._reading = self._generation
                self._blocked = True
                try:
                    await connection.send_packed_command(packed, check_health=False)
                    reply = await connection.read_response(timeout=READ_TIMEOUT)
                finally:
                    self._blocked = False
            except (RedisError, OSError) as error:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise asyncio.CancelledError from None
                await self._drop_connection()
                self._on_health(False)
                level = logging.WARNING if delay == RETRY_MIN else logging.DEBUG  # once an outage
                log.log(level, "redis reader: %s; retrying in %.2fs", error, delay)
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
            self._cursors[key] = _bulk(mirror.cursor.encode())

    async def _connect(self) -> AbstractConnection:
        """The reader's own connection, and its client id (for CLIENT UNBLOCK)."""
        connection = self._connection
        if connection is None:
            connection = self._connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
        if self._client_id is None:
            await connection.send_command("CLIENT", "ID")
            self._client_id = int(await connection.read_response(timeout=READ_TIMEOUT))
        return connection

    async def _drop_connection(self) -> None:
        connection, self._connection, self._client_id = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(RedisError, OSError):
                await connection.disconnect()
            await self._pool.release(connection)

    def _pack(self, keys: list[str]) -> bytes:
        """``XREAD COUNT n BLOCK ms STREAMS keys... ids...`` in RESP, the keys packed once."""
        generation, packed_keys = self._packed_keys
        if generation != self._generation or not packed_keys:
            packed_keys = b"".join(map(self._key_bulks.__getitem__, keys))
            self._packed_keys = (self._generation, packed_keys)
        cursors = b"".join(map(self._cursors.__getitem__, keys))
        return b"*%d\r\n%s%s%s" % (6 + 2 * len(keys), HEAD, packed_keys, cursors)

    async def stop(self) -> None:
        """Wait for a pending unblock; close the connection (the loop is cancelled first)."""
        if self._unblocking is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._unblocking
        await self._drop_connection()


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)

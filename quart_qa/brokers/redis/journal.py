"""The request journal shared by every node: one Redis stream of finished requests.

An entry is written when its response ends, before the client sees that end, so a test
that has read a whole response from one node finds it in the journal of any other. Its id
comes from one counter (``INCR``, in the same Lua call as the ``XADD``), so ids grow in the
order entries finish, on every node, and ``since`` is a cursor; the stream is capped at
``[admin] journal_size``. The feed is an ``XREAD BLOCK`` on that stream. Requests still
running are not shown (the memory journal shows its own as not done).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from redis.exceptions import RedisError

from ...streaming.journal import JournalEntry, JournalQuery, JsonEntry, finish
from ...streaming.refusals import BrokerUnavailable
from .keys import admin_keys
from .link import NodeLink, reraise_cancel

log = logging.getLogger("quart_qa.redis")

FEED_BATCH = 100  # entries one XREAD of the feed takes at most


def _entry_of(fields: Any) -> JsonEntry:
    entry: JsonEntry = json.loads(str(fields["d"]))
    return entry


class RedisJournal:
    """A :class:`~quart_qa.streaming.journal.JournalStore` in Redis, for every node."""

    def __init__(self, link: NodeLink, size: int) -> None:
        self._link = link
        self._keys = admin_keys(link.prefix)
        self._size = size
        self._timeout = link.settings.broker.connect_timeout

    def open(self, method: str, path: str, dialect: str) -> JournalEntry:
        return JournalEntry(0, time.time(), method, path, dialect)  # its id comes when kept

    async def close(self, entry: JournalEntry, started: float) -> None:
        if not finish(entry, started):
            return
        document = entry.to_json()
        del document["id"]
        text = json.dumps(document, ensure_ascii=False, default=str)
        keys = self._keys
        try:
            async with asyncio.timeout(self._timeout):
                with self._link.call():
                    entry.id = int(
                        await self._link.scripts.journal_add(
                            keys=[keys.journal, keys.journal_ids], args=[text, self._size]
                        )
                    )
        except (BrokerUnavailable, TimeoutError):
            log.warning(
                "journal: entry for %s %s not kept (Redis unavailable)", entry.method, entry.path
            )

    async def select(self, query: JournalQuery) -> list[JsonEntry]:
        start = "-" if query.since is None else f"{query.since + 1}-0"
        with self._link.call():
            items = await self._link.client.xrange(self._keys.journal, min=start, max="+")
        found = []
        for _, fields in items or ():
            entry = _entry_of(fields)
            if query.accepts(entry["id"], entry["path"], entry["user"], entry["scenario"]):
                found.append(entry)
        return found[-query.limit :] if query.limit else found

    async def clear(self) -> int:
        with self._link.call():
            async with self._link.client.pipeline(transaction=True) as pipe:
                pipe.xlen(self._keys.journal)
                pipe.delete(self._keys.journal)
                count, _ = await pipe.execute()
        return int(count)

    @contextlib.asynccontextmanager
    async def feed(self, keepalive: float) -> AsyncIterator[AsyncIterator[JsonEntry | None]]:
        keys, client = self._keys, self._link.client
        with self._link.call():  # entries kept after this point are the feed's
            cursor = f"{int(await client.get(keys.journal_ids) or 0)}-1"
        block = max(1, round(keepalive * 1000))

        async def entries() -> AsyncIterator[JsonEntry | None]:
            nonlocal cursor
            while True:
                try:
                    reply: Any = await client.xread(
                        {keys.journal: cursor}, count=FEED_BATCH, block=block
                    )
                except (RedisError, OSError) as error:
                    reraise_cancel()
                    log.warning("journal feed ends: %s", error)
                    return  # the client reconnects; Redis may be back by then
                if not reply:
                    yield None
                    continue
                for _, items in reply:
                    for stream_id, fields in items:
                        cursor = str(stream_id)
                        yield _entry_of(fields)

        yield entries()

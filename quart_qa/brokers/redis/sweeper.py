"""The ticker: this node's liveness, its leases kept, and answers of dead nodes ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from ...streaming.answer_runner import render
from .admission import Admission
from .link import NodeLink, reraise_cancel
from .runner import RedisAnswerRunner
from .scripts import queue

log = logging.getLogger("quart_qa.redis")


class Sweeper:
    """One loop a node: refresh counts and leases, and send ERROR for answers whose node died."""

    def __init__(self, link: NodeLink, admission: Admission, runner: RedisAnswerRunner) -> None:
        self._link = link
        self._admission = admission
        self._runner = runner

    async def run(self) -> None:
        """Tick every third of the shortest expiry, or at once when woken."""
        link = self._link
        broker = link.settings.broker
        interval = min(broker.lease_ttl, broker.node_ttl) / 3
        counts_every = broker.node_ttl / 3
        counted = 0.0
        while not link.stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await link.wake_upkeep.wait()
            link.wake_upkeep.clear()
            now = time.monotonic()
            refresh_counts = link.refresh_all or now - counted >= counts_every
            try:
                await self._tick(refresh_counts)
            except (RedisError, OSError) as error:
                reraise_cancel()
                link.set_health(False)
                log.debug("redis upkeep: %s", error)
                continue
            link.set_health(True)
            if refresh_counts:
                counted = now
                link.refresh_all = False

    async def _tick(self, refresh_counts: bool) -> None:
        link, admission = self._link, self._admission
        if not link.available:
            await link.client.ping()
        mirrors = list(admission.registry.mirrors())
        running = self._runner.running()
        swept = [m.user_id for m in mirrors if m.answering and m.user_id not in running]

        def build(pipe: Pipeline) -> None:
            admission.sync_node(pipe)
            if refresh_counts:
                for mirror in mirrors:
                    admission.sync_user(pipe, mirror.user_id)
            for user_id, answer_id in running.items():
                keys = link.keys(user_id)
                queue(
                    pipe,
                    link.scripts.refresh,
                    [keys.lease, keys.running],
                    [link.node, answer_id, link.lease_ms, link.ttl_ms],
                )
            lost_text = link.settings.messages.answer_lost
            for user_id in swept:
                keys = link.keys(user_id)
                queue(
                    pipe,
                    link.scripts.sweep,
                    [keys.events, keys.lease, keys.running, keys.queue],
                    [
                        link.node,
                        link.lease_ms,
                        link.ttl_ms,
                        link.maxlen,
                        render(lost_text, user_id=user_id),
                    ],
                )

        replies = await link.pipeline(build)
        for user_id, reply in zip(swept, replies[len(replies) - len(swept) :], strict=True):
            if reply[0] in ("given_up", "drain"):
                log.warning("answer user=%s: its node is gone; sent ERROR", user_id)
            if reply[0] == "drain":
                self._runner.start(user_id, None)

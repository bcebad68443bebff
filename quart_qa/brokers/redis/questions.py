"""Questions and cancels across nodes: the ask and cancel scripts, and the control channel."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from redis.exceptions import RedisError

from ...settings.config import Settings
from ...streaming import refusals
from ...streaming.answer_runner import Answer, CancelResult, render
from ...streaming.faults import refuse_if_scripted
from .keys import control_channel
from .link import RETRY_MAX, RETRY_MIN, NodeLink, reraise_cancel
from .runner import RedisAnswerRunner, queued_payload

log = logging.getLogger("quart_qa.redis")


class Questions:
    """Accepts questions under the per-user rules in Redis and routes cancels to their node."""

    def __init__(self, link: NodeLink, runner: RedisAnswerRunner) -> None:
        self._link = link
        self._runner = runner

    async def submit(self, user_id: str, question: str) -> Answer:
        """Run, queue or refuse ``question`` as the ask script decides."""
        link = self._link
        settings = link.settings
        limits = settings.limits
        rule = (await self._runner.rules.choose_shared(question)).rule
        refuse_if_scripted(rule)
        answer = Answer(uuid.uuid4().hex, question, rule)
        interval_ms = 60_000 / limits.asks_per_minute if limits.asks_per_minute else 0
        keys = link.keys(user_id)
        with link.call():
            reply = await link.scripts.ask(
                keys=[keys.events, keys.conns, keys.lease, keys.running, keys.queue, keys.rate],
                args=[
                    link.node,
                    answer.answer_id,
                    queued_payload(answer),
                    "1" if settings.stream.on_busy == "reject" else "0",
                    limits.max_pending_answers,
                    interval_ms,
                    60_000 - interval_ms if interval_ms else 0,
                    link.lease_ms,
                    link.ttl_ms,
                    link.maxlen,
                    render(settings.messages.answer_lost, user_id=user_id),
                ],
            )
        status = reply[0]
        if status == "run":
            self._runner.start(user_id, answer, str(reply[1]))
        elif status == "drain":
            self._runner.start(user_id, None)
        elif status != "queued":
            raise _ask_refusal(settings, user_id, status, reply)
        return answer

    async def cancel(self, user_id: str) -> CancelResult:
        """Stop the user's running answer wherever it runs; drop the queued ones."""
        link = self._link
        keys = link.keys(user_id)
        with link.call():
            reply = await link.scripts.cancel(
                keys=[keys.lease, keys.running, keys.queue, keys.cancel], args=[link.ttl_ms]
            )
        if reply[0] != "cancelled":
            raise refusals.NothingRunning(user_id)
        answer_id, dropped, holder = str(reply[1]), int(reply[2]), str(reply[3])
        if holder == link.node:
            self._runner.local_cancel(user_id, answer_id)
        else:  # tell its node, so it stops now rather than at its next event
            with contextlib.suppress(RedisError, OSError):
                await link.client.publish(
                    control_channel(link.prefix, holder), f"cancel\t{user_id}\t{answer_id}"
                )
        return CancelResult(answer_id, dropped)

    async def follow_control(self) -> None:
        """Cancels that other nodes forward to this one (Redis Pub/Sub, at most once).

        If a message is lost (Redis away), the answer still stops at its next event: the
        cancel is in Redis, and the emit script checks it.
        """
        link = self._link
        delay = RETRY_MIN
        while not link.stopping:
            pubsub = link.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(control_channel(link.prefix, link.node))
                delay = RETRY_MIN
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    if message is not None and message.get("type") == "message":
                        self._on_control(str(message["data"]))
            except (RedisError, OSError) as error:
                reraise_cancel()
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
            self._runner.local_cancel(user_id, answer_id)


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

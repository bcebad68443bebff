"""Running answers: one asyncio task per busy user, answers in order, never interleaved."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..settings.answers import AnswerRule
from ..settings.config import Settings
from ..settings.faults import Fault
from . import refusals
from .broadcast import Broadcast, BroadcastRegistry
from .chunk_run import ChunkRun
from .faults import refuse_if_scripted, stream_fault
from .metrics import Metrics
from .pacing import Pacer
from .rate_limit import RateLimiter
from .rulebook import RuleBook
from .scheduler import PaceScheduler
from .seed_frames import seed_frames

log = logging.getLogger("quart_qa.settings.answers")

_PLACEHOLDER = re.compile(r"\{(user_id|question|seconds)\}")


def render(template: str, **values: str) -> str:
    """Substitute ``{user_id}``, ``{question}``, ``{seconds}`` in one pass (no re-reading)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


class Outcome:
    """How an answer ended (metric labels and log values)."""

    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"
    SHUTDOWN = "shutdown"


class AnswerSink(Protocol):
    """Where an answer's events go: a user's broadcast, or a user's Redis stream."""

    @property
    def user_id(self) -> str: ...

    @property
    def subscriber_count(self) -> int: ...

    def unwatched_for(self) -> float: ...

    async def publish(self, name: str, data: str) -> object: ...

    async def publish_malformed(self, name: str, data: str) -> object:
        """Publish an event whose frame a client cannot parse (a ``malformed`` fault)."""
        ...

    def drop_connections(self) -> None:
        """Cut every connection at once, with no clean end (a ``disconnect`` fault)."""
        ...

    def hold_heartbeats(self, held: bool) -> None:
        """Stop (and restart) heartbeats to the user's connections (a ``stall`` fault)."""
        ...


@dataclass
class Answer:
    """One submitted question and the rule that answers it."""

    answer_id: str
    question: str
    rule: AnswerRule
    accepted_at: float = field(default_factory=time.monotonic)
    stop_outcome: str | None = None


@dataclass
class UserAnswers:
    """The running answer and the queue of one user."""

    pending: deque[Answer] = field(default_factory=deque)
    current: Answer | None = None
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class CancelResult:
    """What a cancel stopped."""

    answer_id: str
    dropped: int


class AnswerRunner:
    """Accepts questions and streams their scripted answers into the users' broadcasts."""

    def __init__(
        self,
        settings: Settings,
        registry: BroadcastRegistry,
        metrics: Metrics,
        rules: RuleBook,
    ) -> None:
        self._settings = settings
        self.rules = rules
        self._registry = registry
        self._metrics = metrics
        self._users: dict[str, UserAnswers] = {}
        self.rate_limiter = RateLimiter(settings.limits.asks_per_minute)
        # The app's one pacing timeline: these answers and every LLM dialect's wait on it.
        self.scheduler = PaceScheduler()

    @property
    def running_count(self) -> int:
        """Users with an answer in progress."""
        return len(self._users)

    def tasks(self) -> Sequence[asyncio.Task[None]]:
        """The worker tasks (for shutdown and leak checks)."""
        return [user.task for user in self._users.values() if user.task is not None]

    def submit(self, user_id: str, question: str) -> Answer:
        """Queue a question for ``user_id`` and start its worker if idle."""
        broadcast = self._registry.get(user_id)
        if broadcast is None or broadcast.subscriber_count == 0:
            raise refusals.NotConnected(user_id)
        user = self._users.get(user_id)
        if user is not None:
            if self._settings.stream.on_busy == "reject":
                raise refusals.Busy()
            if len(user.pending) >= self._settings.limits.max_pending_answers:
                raise refusals.TooManyPending(len(user.pending))
        wait = self.rate_limiter.hit(user_id)
        if wait:
            raise refusals.RateLimited(self._settings.limits.asks_per_minute, wait)
        rule = self.rules.choose(question).rule
        refuse_if_scripted(rule)
        answer = Answer(uuid.uuid4().hex, question, rule)
        if user is None:
            user = self._users[user_id] = UserAnswers()
            user.pending.append(answer)
            user.task = asyncio.get_running_loop().create_task(
                self._work(user_id, user), name=f"answers:{user_id}"
            )
        else:
            user.pending.append(answer)
        return answer

    def cancel(self, user_id: str) -> CancelResult:
        """Stop the running answer and drop the queued ones."""
        user = self._users.get(user_id)
        if user is None or user.current is None or user.task is None:
            raise refusals.NothingRunning(user_id)
        dropped = len(user.pending)
        self._stop(user, Outcome.CANCELLED)
        return CancelResult(user.current.answer_id, dropped)

    def _stop(self, user: UserAnswers, outcome: str) -> None:
        user.pending.clear()
        current = user.current
        # Stopped once: a second stop (a cancel seen both by this node and in Redis's reply,
        # or two cancels) would land in the first one's final publish and end the worker
        # without its last event, or, on Redis, without giving the user's lease up.
        if current is not None and user.task is not None and current.stop_outcome is None:
            current.stop_outcome = outcome
            user.task.cancel()

    async def finish(self, grace: float) -> None:
        """Let running answers finish for up to ``grace`` seconds, then stop the rest."""
        tasks = self.tasks()
        if tasks and grace > 0:
            await asyncio.wait(tasks, timeout=grace)
        for user in tuple(self._users.values()):
            self._stop(user, Outcome.SHUTDOWN)
        await asyncio.gather(*self.tasks(), return_exceptions=True)

    async def shutdown(self) -> None:
        """Cancel every worker and wait for them."""
        tasks = self.tasks()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _work(self, user_id: str, user: UserAnswers) -> None:
        try:
            with self._registry.hold(user_id) as broadcast:
                while user.pending:
                    answer = user.current = user.pending.popleft()
                    if await self._run_one(broadcast, answer) == Outcome.ABANDONED:
                        user.pending.clear()
        finally:
            user.current = None
            del self._users[user_id]

    async def _run_one(self, broadcast: AnswerSink, answer: Answer) -> str:
        """Stream one answer to its end, whatever ends it; returns the outcome."""
        messages = self._settings.messages
        texts = {"user_id": broadcast.user_id, "question": answer.question}
        limit = self._settings.stream.answer_timeout
        try:
            async with asyncio.timeout(limit if limit > 0 else None):
                outcome = await self._stream(broadcast, answer)
        except TimeoutError:
            outcome = Outcome.TIMED_OUT
            reason = render(messages.answer_timed_out, seconds=f"{limit:g}", **texts)
            await self._publish(broadcast, "ERROR", reason)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if answer.stop_outcome is None or task is None:
                raise
            task.uncancel()
            outcome = answer.stop_outcome
            if outcome == Outcome.CANCELLED:
                await self._publish(
                    broadcast, "ANSWER_CANCELLED", render(messages.answer_cancelled, **texts)
                )
            else:
                await self._publish(broadcast, "ERROR", render(messages.server_shutdown, **texts))
        self._metrics.questions.labels(outcome).inc()
        log.info(
            "answer user=%s answer_id=%s outcome=%s duration=%.3fs",
            broadcast.user_id,
            answer.answer_id,
            outcome,
            time.monotonic() - answer.accepted_at,
        )
        return outcome

    async def _publish(self, broadcast: AnswerSink, name: str, data: str) -> None:
        await broadcast.publish(name, data)
        self._metrics.events_published.inc()

    async def _stream(self, broadcast: AnswerSink, answer: Answer) -> str:
        stream, rule, messages = self._settings.stream, answer.rule, self._settings.messages
        texts = {"user_id": broadcast.user_id, "question": answer.question}
        delay = stream.chunk_delay if rule.delay is None else rule.delay
        first_delay = (
            stream.first_chunk_delay if rule.first_chunk_delay is None else rule.first_chunk_delay
        )
        grace = stream.resume_grace
        lateness = self._metrics.chunk_lateness_seconds
        await self._publish(broadcast, "ANSWER_START", render(messages.answer_start, **texts))
        pacer = Pacer(self.scheduler, burst=max(1, stream.queue_size // 8))
        fault = stream_fault(rule)
        if isinstance(broadcast, Broadcast) and fault is None and rule.fail_after is None:
            run = ChunkRun(
                broadcast,
                seed_frames(rule),
                self.scheduler,
                pacer,
                self._metrics,
                delay=delay,
                first_delay=first_delay,
                grace=grace,
                accepted_at=answer.accepted_at,
                end_text=render(messages.answer_end, **texts),
                abandoned_text=lambda: render(messages.answer_abandoned, **texts),
            )
            return Outcome.COMPLETED if await run.start() else Outcome.ABANDONED
        previous = 0.0
        first = True
        sent = 0  # chunks so far, where a stream fault strikes
        for frame in seed_frames(rule):
            if rule.fail_after is not None and frame.part >= rule.fail_after:
                await self._publish(broadcast, "ERROR", rule.error)
                return Outcome.FAILED
            if frame.share > 0 and fault is not None and sent == fault.after:
                if fault.kind == "truncate":
                    break
                await self._strike(broadcast, fault)
            if frame.share > 0:
                wait = delay * frame.share
                await pacer.wait(first_delay if first else wait)
                if broadcast.subscriber_count == 0 and broadcast.unwatched_for() >= grace:
                    abandoned = render(messages.answer_abandoned, **texts)
                    await self._publish(broadcast, "ERROR", abandoned)
                    return Outcome.ABANDONED
            malformed = fault is not None and fault.kind == "malformed" and sent == fault.after
            if frame.share > 0 and malformed:
                await broadcast.publish_malformed(frame.event, frame.data)
            else:
                await self._publish(broadcast, frame.event, frame.data)
            if frame.share > 0:
                sent += 1
                now = time.monotonic()
                if first:
                    self._metrics.first_chunk_seconds.observe(now - answer.accepted_at)
                else:
                    lateness.observe(max(0.0, now - previous - wait))
                previous, first = now, False
        if rule.fail_after is not None and rule.fail_after >= rule.part_count:
            await self._publish(broadcast, "ERROR", rule.error)
            return Outcome.FAILED
        if fault is not None and fault.kind != "truncate" and fault.after >= sent:
            await self._strike(broadcast, fault)
        await self._publish(broadcast, "ANSWER_END", render(messages.answer_end, **texts))
        return Outcome.COMPLETED

    async def _strike(self, broadcast: AnswerSink, fault: Fault) -> None:
        """A stream fault on the chat page: the answer itself goes on (into history), so a
        page that reconnects resumes it; ``truncate`` ends it early with ``ANSWER_END``."""
        log.info("fault user=%s: %s", broadcast.user_id, fault.describe())
        if fault.kind == "disconnect":
            broadcast.drop_connections()
        elif fault.kind == "stall":
            broadcast.hold_heartbeats(True)
            try:
                await asyncio.sleep(fault.seconds)
            finally:
                broadcast.hold_heartbeats(False)

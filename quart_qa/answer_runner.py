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

from .answers import AnswerRule, choose_rule
from .broadcast import Broadcast, BroadcastRegistry
from .config import Settings
from .errors import ApiError

log = logging.getLogger("quart_qa.answers")

_PLACEHOLDER = re.compile(r"\{(user_id|question|seconds)\}")


def render(template: str, **values: str) -> str:
    """Substitute ``{user_id}``, ``{question}``, ``{seconds}`` in one pass (no re-reading)."""
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


@dataclass
class Answer:
    """One submitted question and the rule that answers it."""

    answer_id: str
    question: str
    rule: AnswerRule
    cancel_requested: bool = False


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

    def __init__(self, settings: Settings, registry: BroadcastRegistry) -> None:
        self._settings = settings
        self._registry = registry
        self._users: dict[str, UserAnswers] = {}

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
            raise ApiError(
                404, "not_connected", f"user {user_id!r} has no open connection to answer on"
            )
        user = self._users.get(user_id)
        if user is not None:
            if self._settings.stream.on_busy == "reject":
                raise ApiError(409, "busy", "an answer is still streaming for this user")
            if len(user.pending) >= self._settings.limits.max_pending_answers:
                raise ApiError(
                    429,
                    "too_many_pending",
                    f"{len(user.pending)} questions are already waiting for this user",
                )
        answer = Answer(uuid.uuid4().hex, question, choose_rule(self._settings.answers, question))
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
            raise ApiError(404, "nothing_running", f"no answer is running for user {user_id!r}")
        dropped = len(user.pending)
        user.pending.clear()
        user.current.cancel_requested = True
        user.task.cancel()
        return CancelResult(user.current.answer_id, dropped)

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
                    if not await self._run_one(broadcast, answer):
                        user.pending.clear()
        finally:
            user.current = None
            del self._users[user_id]

    async def _run_one(self, broadcast: Broadcast, answer: Answer) -> bool:
        """Stream one answer; False when nobody is listening any more."""
        started = time.monotonic()
        messages = self._settings.messages
        limit = self._settings.stream.answer_timeout
        outcome = "completed"
        try:
            async with asyncio.timeout(limit if limit > 0 else None):
                outcome = await self._stream(broadcast, answer)
        except TimeoutError:
            outcome = "timed_out"
            reason = render(
                messages.answer_timed_out,
                seconds=f"{limit:g}",
                user_id=broadcast.user_id,
                question=answer.question,
            )
            await broadcast.publish("ERROR", reason)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not answer.cancel_requested or task is None:
                raise
            task.uncancel()
            outcome = "cancelled"
            cancelled = render(
                messages.answer_cancelled, user_id=broadcast.user_id, question=answer.question
            )
            await broadcast.publish("ANSWER_CANCELLED", cancelled)
        log.info(
            "answer user=%s answer_id=%s outcome=%s duration=%.3fs",
            broadcast.user_id,
            answer.answer_id,
            outcome,
            time.monotonic() - started,
        )
        return outcome != "abandoned"

    async def _stream(self, broadcast: Broadcast, answer: Answer) -> str:
        stream, rule = self._settings.stream, answer.rule
        delay = stream.chunk_delay if rule.delay is None else rule.delay
        first_delay = (
            stream.first_chunk_delay if rule.first_chunk_delay is None else rule.first_chunk_delay
        )
        messages = self._settings.messages
        texts = {"user_id": broadcast.user_id, "question": answer.question}
        await broadcast.publish("ANSWER_START", render(messages.answer_start, **texts))
        for index, part in enumerate(rule.parts):
            if rule.fail_after is not None and index == rule.fail_after:
                await broadcast.publish("ERROR", rule.error)
                return "failed"
            pause = first_delay if index == 0 else delay
            if pause > 0:
                await asyncio.sleep(pause)
            if broadcast.subscriber_count == 0:
                return "abandoned"
            await broadcast.publish("ANSWER_CHUNK", part)
        if rule.fail_after is not None and rule.fail_after == len(rule.parts):
            await broadcast.publish("ERROR", rule.error)
            return "failed"
        await broadcast.publish("ANSWER_END", render(messages.answer_end, **texts))
        return "completed"

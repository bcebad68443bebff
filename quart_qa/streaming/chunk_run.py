"""A chat-page answer's paced frames, published from the pacing timeline's timer.

An answer task that waits for each chunk is woken once per chunk: a task step, a future and
four coroutine frames resumed, before the chunk is even published, and one more pass of the
loop between the due time and the bytes. With a broadcast in this process (the memory
broker) and a rule with no fault and no ``fail_after``, the answer task hands its frames to a
:class:`ChunkRun` instead: the scheduler's timer calls it at each due time, it publishes the
frame there and then, and it books the next due time; the task sleeps until the run is over.

It plays exactly what the task's own loop (``AnswerRunner._stream``) plays for such a rule:
the same due times (one :class:`~quart_qa.streaming.pacing.Pacer`), the same check for an
abandoned answer after each wait, the same metrics, ``ANSWER_END`` at the end. Cancelling the
task (a cancel, the answer's timeout, shutdown) cancels the future it sleeps on, and a run
whose future is done publishes nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

from .broadcast import Broadcast
from .metrics import Metrics
from .pacing import YIELD, Pacer
from .scheduler import PaceScheduler
from .seed_frames import SeedFrame


class ChunkRun:
    """Publishes one answer's frames at their due times; its future says how it ended."""

    __slots__ = (
        "_abandoned_text",
        "_accepted_at",
        "_broadcast",
        "_delay",
        "_end_text",
        "_first",
        "_first_delay",
        "_frames",
        "_grace",
        "_metrics",
        "_pacer",
        "_previous",
        "_scheduler",
        "_wait",
        "_waiting",
        "done",
    )

    def __init__(
        self,
        broadcast: Broadcast,
        frames: Iterator[SeedFrame],
        scheduler: PaceScheduler,
        pacer: Pacer,
        metrics: Metrics,
        *,
        delay: float,
        first_delay: float,
        grace: float,
        accepted_at: float,
        end_text: str,
        abandoned_text: Callable[[], str],
    ) -> None:
        self._broadcast = broadcast
        self._frames = frames
        self._scheduler = scheduler
        self._pacer = pacer
        self._metrics = metrics
        self._delay = delay
        self._first_delay = first_delay
        self._grace = grace
        self._accepted_at = accepted_at
        self._end_text = end_text
        self._abandoned_text = abandoned_text
        self._first = True
        self._previous = 0.0
        self._wait = 0.0
        self._waiting: SeedFrame | None = None  # the frame whose due time is booked
        # True: ANSWER_END sent; False: abandoned (ERROR sent).
        self.done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def start(self) -> asyncio.Future[bool]:
        """Publish what is due now and book the rest; await the future for the outcome."""
        self._step()
        return self.done

    def _step(self) -> None:
        if self.done.done():  # the task was cancelled: publish nothing more
            return
        try:
            self._play()
        except Exception as error:  # the task re-raises it, as if it had failed itself
            self.done.set_exception(error)

    def _play(self) -> None:
        frame = self._waiting
        if frame is not None:  # its due time has come
            self._waiting = None
            if self._abandoned():
                return
            self._emit(frame)
        for frame in self._frames:
            if frame.share > 0:
                self._wait = self._delay * frame.share
                due = self._pacer.next_due(self._first_delay if self._first else self._wait)
                if due is not None:
                    self._waiting = frame
                    if due == YIELD:
                        asyncio.get_running_loop().call_soon(self._step)
                    else:
                        self._scheduler.call_at(due, self._step)
                    return
                if self._abandoned():
                    return
            self._emit(frame)
        self._publish("ANSWER_END", self._end_text)
        self.done.set_result(True)

    def _abandoned(self) -> bool:
        """End the run with ERROR when nobody has watched for ``grace`` seconds."""
        broadcast = self._broadcast
        if broadcast.subscriber_count == 0 and broadcast.unwatched_for() >= self._grace:
            self._publish("ERROR", self._abandoned_text())
            self.done.set_result(False)
            return True
        return False

    def _publish(self, name: str, data: str) -> None:
        self._broadcast.record(name, data)
        self._metrics.events_published.inc()

    def _emit(self, frame: SeedFrame) -> None:
        self._publish(frame.event, frame.data)
        if frame.share > 0:
            now = time.monotonic()
            if self._first:
                self._metrics.first_chunk_seconds.observe(now - self._accepted_at)
            else:
                lateness = max(0.0, now - self._previous - self._wait)
                self._metrics.chunk_lateness_seconds.observe(lateness)
            self._previous, self._first = now, False

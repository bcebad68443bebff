"""Playing an :class:`~.completions.AnswerPlan` at its pace as dialect-neutral events.

:func:`play` yields :class:`BlockStart`, :class:`Piece`, :class:`BlockEnd`, then
:class:`Finished` or :class:`Failed`, with keep-alives on long pauses and the
``answer_timeout`` deadline, on the app's one pacing timeline. Each dialect in
``quart_qa.dialects`` only frames these events.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass

from ..settings.faults import Fault
from .completions import TEXT_KINDS, AnswerPlan, Block, FailureKind, FinishReason, Pace, ToolCall
from .scheduler import PaceScheduler
from .wire import StreamDropped, corrupt_next_frame


@dataclass(frozen=True)
class BlockStart:
    """A block begins (sent before the wait for its first piece)."""

    block: Block


@dataclass(frozen=True)
class Piece:
    """Send this piece of the block: reasoning or answer text, argument JSON, object JSON."""

    block: Block
    text: str


@dataclass(frozen=True)
class BlockEnd:
    """The block is complete; ``text`` is all it sent."""

    block: Block
    text: str


@dataclass(frozen=True)
class KeepAlive:
    """Nothing was sent for a keep-alive interval: send a keep-alive."""


@dataclass(frozen=True)
class Finished:
    """The answer ended; ``reason`` is the plan's finish reason.

    ``output_tokens`` counts every token sent, ``reasoning_tokens`` those of reasoning blocks.
    """

    reason: FinishReason
    output_tokens: int
    stop_sequence: str | None = None
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Failed:
    """The answer failed after the stream began: the rule's ``fail_after``, the timeout, or
    the server shutting down (``shutdown``: sent by the dialects' shared state, not here)."""

    kind: FailureKind
    message: str
    output_tokens: int


PlayEvent = BlockStart | Piece | BlockEnd | KeepAlive | Finished | Failed
KEEP_ALIVE = KeepAlive()


# Deltas already due are sent without yielding to the loop, up to this many in a row.
READY_BURST = 32


class _Standing:
    """Where one playback stands on the timeline: what :func:`coalesced` asks it."""

    __slots__ = ("burst", "deadline", "flush", "next_due", "scheduler")

    def __init__(self, scheduler: PaceScheduler, deadline: float) -> None:
        self.scheduler = scheduler
        self.deadline = deadline
        self.next_due: float | None = None  # None: the next event needs no wait
        self.burst = 0  # deltas sent in a row without yielding to the loop
        self.flush = False  # a stream fault is next: what was made goes out before it

    def ready(self) -> bool:
        """True when the playback's next event needs no wait."""
        if self.flush:
            return False
        due = self.next_due
        if due is None:
            return True
        if self.burst + 1 >= READY_BURST:
            return False
        return min(due, self.deadline) <= self.scheduler.time()


_current: ContextVar[_Standing | None] = ContextVar("quart_qa_playback", default=None)


async def play(
    plan: AnswerPlan,
    pace: Pace,
    *,
    scheduler: PaceScheduler | None = None,
    timeout: float = 0.0,
    timeout_message: str = "timed out",
    keepalive: float = 0.0,
) -> AsyncGenerator[PlayEvent, None]:
    """Send ``plan`` at ``pace``; end with one :class:`Finished` or :class:`Failed`.

    Each delta is due its wait after the previous delta was *due* (not after it was sent), on
    ``scheduler``, the app's one timeline (a private one when None). A delta already due comes
    at once, so a consumer that fell behind catches up, in one write with :func:`coalesced`.
    ``timeout`` (seconds, 0 = none) bounds the whole answer like ``stream.answer_timeout``.
    Cancellation (the client went away) propagates from the current wait at once.
    """
    timeline = scheduler if scheduler is not None else PaceScheduler()
    due = timeline.time()
    deadline = due + timeout if timeout > 0 else math.inf
    waits = pace.waits(plan.deltas)
    standing = _Standing(timeline, deadline)
    _current.set(standing)
    position = sent = reasoning = 0
    fault = plan.fault  # strikes once ``fault.after`` deltas are out (or before the end)
    standing.flush = fault is not None and fault.after == 0
    for number, planned in enumerate(plan.blocks):
        block = planned.block
        standing.next_due = due + waits[position] if planned.deltas else None
        yield BlockStart(block)
        pieces: list[str] = []
        for index, delta in enumerate(planned.deltas):
            if fault is not None and position == fault.after:
                await strike(fault)
                due = max(due, timeline.time())  # after a stall the pace starts again
            due += waits[position]
            position += 1
            until = min(due, deadline)
            now = timeline.time()
            while 0 < keepalive < until - now:
                await timeline.sleep_until(now + keepalive)
                yield KEEP_ALIVE
                now = timeline.time()
            if until > now:
                standing.burst = 0
                await timeline.sleep_until(until)
            else:  # already due: no wait, but share the loop now and then
                standing.burst += 1
                if standing.burst >= READY_BURST:
                    standing.burst = 0
                    await asyncio.sleep(0)
            if due >= deadline:
                standing.next_due = None
                yield Failed("timeout", timeout_message, sent)
                return
            sent += delta.tokens
            if block.kind == "reasoning":
                reasoning += delta.tokens
            pieces.append(delta.text)
            standing.flush = fault is not None and position >= fault.after
            more = index + 1 < len(planned.deltas)
            standing.next_due = due + waits[position] if more else None
            yield Piece(block, delta.text)
        if plan.finish is not None or number < len(plan.blocks) - 1:
            yield BlockEnd(block, "".join(pieces))
    if fault is not None and fault.after >= position:
        await strike(fault)
    if plan.finish is None:
        yield Failed("rule", plan.error, sent)
    else:
        yield Finished(plan.finish, sent, plan.stop_sequence, reasoning)


async def strike(fault: Fault) -> None:
    """Play a stream fault at this point of the answer.

    ``stall``: silence, keep-alives included, for ``fault.seconds``; ``disconnect``: raise
    :class:`StreamDropped` so the transport closes the connection with no end frame;
    ``malformed``: the transport sends the next frame with invalid JSON.
    """
    if fault.kind == "stall":
        await asyncio.sleep(fault.seconds)
    elif fault.kind == "disconnect":
        raise StreamDropped()
    elif fault.kind == "malformed":
        corrupt_next_frame()


async def coalesced(frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The frames of a paced answer, those its playback makes without waiting joined into
    one write: a connection that fell behind its pace catches up in one send, not many.
    Closing it closes ``frames`` (so the playback's record ends at once)."""
    _current.set(None)
    pending: list[bytes] = []
    try:
        async for frame in frames:
            pending.append(frame)
            standing = _current.get()
            if standing is not None and standing.ready():
                continue
            joined = b"".join(pending) if len(pending) > 1 else frame
            pending.clear()
            yield joined
        if pending:
            yield b"".join(pending)
    finally:
        close = getattr(frames, "aclose", None)
        if close is not None:
            await close()


@dataclass(frozen=True)
class Collected:
    """A whole answer for a non-streaming response: its blocks with their text, how it ended."""

    blocks: tuple[tuple[Block, str], ...]
    end: Finished | Failed

    @property
    def text(self) -> str:
        """The answer text (text and object blocks)."""
        return "".join(text for block, text in self.blocks if block.kind in TEXT_KINDS)

    @property
    def reasoning(self) -> str:
        """The reasoning text."""
        return "".join(text for block, text in self.blocks if block.kind == "reasoning")

    @property
    def tool_calls(self) -> tuple[tuple[ToolCall, str], ...]:
        """Each tool call with its arguments JSON."""
        return tuple((block.call, text) for block, text in self.blocks if block.call is not None)


async def collect(events: AsyncIterator[PlayEvent]) -> Collected:
    """Run a playback to its end and gather each block's text."""
    blocks: list[tuple[Block, list[str]]] = []
    async for event in events:
        if isinstance(event, BlockStart):
            blocks.append((event.block, []))
        elif isinstance(event, Piece):
            blocks[-1][1].append(event.text)
        elif isinstance(event, Finished | Failed):
            return Collected(tuple((block, "".join(texts)) for block, texts in blocks), event)
    raise RuntimeError("playback ended without Finished or Failed")

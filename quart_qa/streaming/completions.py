"""Paced completions for the LLM APIs: token counting, the answer plan and its playback.

Plain asyncio, no web framework. An answer rule becomes an :class:`AnswerPlan` (the deltas to
send and how the answer ends: naturally, cut by ``max_tokens`` or a stop sequence, or failed by
the rule's ``fail_after``); :func:`play` sends the plan at its :class:`Pace`, with keep-alives
on long pauses and the ``answer_timeout`` deadline. The wire formats live in ``openai_api`` and
``anthropic_api``.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..settings.answers import AnswerRule
from ..settings.config import StreamSettings
from ..settings.model_presets import DeltaMode, ModelPreset

# Kana, CJK ideographs and Hangul: a real tokenizer spends about one token on each.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# Whitespace joins the token after it (" world"), as in BPE vocabularies.
_TOKEN = re.compile(rf"\s*(?:[{_CJK}]|[^\W\d_{_CJK}]+|\d{{1,3}}|[^\w\s]|_)|\s+")

FinishReason = Literal["stop", "length", "stop_sequence"]
FailureKind = Literal["rule", "timeout"]


def tokenize(text: str) -> tuple[str, ...]:
    """Split ``text`` into token-like pieces: words, up to three digits, punctuation, one CJK
    character; leading whitespace stays with the piece after it. Joined they give ``text``."""
    return tuple(_TOKEN.findall(text))


def count_tokens(text: str) -> int:
    """How many pieces :func:`tokenize` makes of ``text``."""
    return sum(1 for _ in _TOKEN.finditer(text))


def count_prompt_tokens(texts: Iterable[str]) -> int:
    """Tokens in every message text of a prompt."""
    return sum(count_tokens(text) for text in texts)


@dataclass(frozen=True)
class PlannedDelta:
    """One content delta; ``share`` is its part of the rule part it comes from (for pacing)."""

    text: str
    tokens: int
    share: float


@dataclass(frozen=True)
class AnswerPlan:
    """The deltas of one answer and how it ends: ``finish``, or the rule's error when None."""

    deltas: tuple[PlannedDelta, ...]
    finish: FinishReason | None
    error: str = ""
    stop_sequence: str | None = None

    @property
    def text(self) -> str:
        """The whole text the plan sends."""
        return "".join(delta.text for delta in self.deltas)


def _earliest_stop(text: str, stop: Sequence[str]) -> tuple[int, str] | None:
    found = [(text.find(sequence), sequence) for sequence in stop if sequence]
    hits = [(index, sequence) for index, sequence in found if index >= 0]
    return min(hits, key=lambda hit: hit[0]) if hits else None


def _cut_parts(parts: Sequence[str], length: int) -> tuple[str, ...]:
    """The parts holding the first ``length`` characters of their concatenation."""
    kept: list[str] = []
    left = length
    for part in parts:
        if left <= 0:
            break
        kept.append(part[:left])
        left -= len(part)
    return tuple(kept)


def _owners(parts: Sequence[str], tokens: Sequence[str]) -> list[int]:
    """For each token, the part its last character comes from."""
    ends = list(itertools.accumulate(len(part) for part in parts))
    owners: list[int] = []
    position = owner = 0
    for token in tokens:
        position += len(token)
        while position > ends[owner]:
            owner += 1
        owners.append(owner)
    return owners


def plan_answer(
    rule: AnswerRule,
    *,
    mode: DeltaMode = "token",
    max_tokens: int | None = None,
    stop: Sequence[str] = (),
) -> AnswerPlan:
    """What one request gets from ``rule``.

    The answer is tokenized as one text, so `` world`` stays one token across a part boundary.
    A stop sequence that appears before the rule's failure point ends the answer there (the
    sequence itself is not sent); more tokens than ``max_tokens`` cut it with ``length``;
    otherwise it ends naturally or, with ``fail_after``, fails after that many parts.
    In ``"token"`` mode every token is a delta; in ``"part"`` mode every rule part is one.
    """
    fails = rule.fail_after is not None
    parts = rule.parts[: rule.fail_after] if fails else rule.parts
    finish: FinishReason | None = None if fails else "stop"
    stop_sequence = None
    hit = _earliest_stop("".join(rule.parts), stop)
    if hit is not None and hit[0] + len(hit[1]) <= sum(len(part) for part in parts):
        parts = _cut_parts(parts, hit[0])
        finish, stop_sequence = "stop_sequence", hit[1]
    tokens = tokenize("".join(parts))
    if max_tokens is not None and len(tokens) > max_tokens:
        tokens = tokens[:max_tokens]
        parts = _cut_parts(parts, sum(len(token) for token in tokens))
        finish, stop_sequence = "length", None
    parts = tuple(part for part in parts if part)
    owners = _owners(parts, tokens)
    per_part = Counter(owners)
    if mode == "part":
        deltas = tuple(PlannedDelta(part, per_part[index], 1.0) for index, part in enumerate(parts))
    else:
        deltas = tuple(
            PlannedDelta(token, 1, 1 / per_part[owner])
            for token, owner in zip(tokens, owners, strict=True)
        )
    return AnswerPlan(deltas, finish, "" if finish else rule.error, stop_sequence)


@dataclass(frozen=True)
class Pace:
    """When deltas are sent.

    ``first`` before the first delta; then ``token_delay`` per token when set, else each rule
    part's ``part_delay`` spread over the deltas of that part. Every wait is scaled by a
    random factor in ``[1 - jitter, 1 + jitter]`` drawn from ``random.Random(seed)``.
    """

    first: float = 0.0
    part_delay: float = 0.0
    token_delay: float | None = None
    jitter: float = 0.0
    seed: int | None = None

    @classmethod
    def resolve(
        cls, stream: StreamSettings, rule: AnswerRule, model: ModelPreset | None = None
    ) -> Pace:
        """The rule's own delays win (they are part of the script), then the model's pace,
        then ``[stream]``."""
        ttft = model.ttft if model is not None else None
        tokens_per_second = model.tokens_per_second if model is not None else None
        first = rule.first_chunk_delay
        if first is None:
            first = ttft if ttft is not None else stream.first_chunk_delay
        part_delay = stream.chunk_delay if rule.delay is None else rule.delay
        token_delay = None
        if rule.delay is None and tokens_per_second is not None:
            token_delay = 1 / tokens_per_second
        return cls(
            first=first,
            part_delay=part_delay,
            token_delay=token_delay,
            jitter=model.jitter if model is not None else 0.0,
            seed=model.seed if model is not None else None,
        )

    def base_wait(self, delta: PlannedDelta, index: int) -> float:
        """The wait before delta number ``index``, before jitter."""
        if index == 0:
            return self.first
        if self.token_delay is not None:
            return self.token_delay * delta.tokens
        return self.part_delay * delta.share

    def waits(self, deltas: Sequence[PlannedDelta]) -> list[float]:
        """The wait before each delta, jitter applied (the same list for the same seed)."""
        rng = random.Random(self.seed)
        waits = []
        for index, delta in enumerate(deltas):
            wait = self.base_wait(delta, index)
            if self.jitter and wait > 0:
                wait *= rng.uniform(1 - self.jitter, 1 + self.jitter)
            waits.append(wait)
        return waits


@dataclass(frozen=True)
class TextDelta:
    """Send this text."""

    text: str


@dataclass(frozen=True)
class KeepAlive:
    """Nothing was sent for a keep-alive interval: send a keep-alive."""


@dataclass(frozen=True)
class Finished:
    """The answer ended; ``reason`` is the plan's finish reason."""

    reason: FinishReason
    output_tokens: int
    stop_sequence: str | None = None


@dataclass(frozen=True)
class Failed:
    """The answer failed after the stream began: the rule's ``fail_after`` or the timeout."""

    kind: FailureKind
    message: str
    output_tokens: int


PlayEvent = TextDelta | KeepAlive | Finished | Failed
KEEP_ALIVE = KeepAlive()


async def play(
    plan: AnswerPlan,
    pace: Pace,
    *,
    timeout: float = 0.0,
    timeout_message: str = "timed out",
    keepalive: float = 0.0,
) -> AsyncGenerator[PlayEvent, None]:
    """Send ``plan`` at ``pace``; end with one :class:`Finished` or :class:`Failed`.

    ``timeout`` (seconds, 0 = none) bounds the whole answer like ``stream.answer_timeout``.
    Cancellation (the client went away) propagates from the current sleep at once.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout > 0 else None
    sent = 0
    for delta, wait in zip(plan.deltas, pace.waits(plan.deltas), strict=True):
        until = loop.time() + wait
        timed_out = deadline is not None and until >= deadline
        if deadline is not None:
            until = min(until, deadline)
        while 0 < keepalive < until - loop.time():
            await asyncio.sleep(keepalive)
            yield KEEP_ALIVE
        # Sleep even for a zero wait: the answer stays cancellable and shares the loop.
        await asyncio.sleep(max(0.0, until - loop.time()))
        if timed_out:
            yield Failed("timeout", timeout_message, sent)
            return
        sent += delta.tokens
        yield TextDelta(delta.text)
    if plan.finish is None:
        yield Failed("rule", plan.error, sent)
    else:
        yield Finished(plan.finish, sent, plan.stop_sequence)


@dataclass(frozen=True)
class Collected:
    """A whole answer for a non-streaming response: its text and how it ended."""

    text: str
    end: Finished | Failed


async def collect(events: AsyncIterator[PlayEvent]) -> Collected:
    """Run a playback to its end and gather the text."""
    pieces: list[str] = []
    async for event in events:
        if isinstance(event, TextDelta):
            pieces.append(event.text)
        elif isinstance(event, Finished | Failed):
            return Collected("".join(pieces), event)
    raise RuntimeError("playback ended without Finished or Failed")

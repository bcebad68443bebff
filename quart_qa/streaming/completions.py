"""Completions for the LLM APIs: token counting, the answer plan and its pace.

Plain asyncio, no web framework. A rule's steps become an :class:`AnswerPlan`: output blocks
(reasoning, text, tool calls, objects) with their deltas, and how the answer ends: naturally,
with tool calls, cut by ``max_tokens`` or a stop sequence, or failed by the rule's
``fail_after``. :func:`play` sends the plan at its :class:`Pace` as dialect-neutral events
(:class:`BlockStart`, :class:`Piece`, :class:`BlockEnd`, then :class:`Finished` or
:class:`Failed`), with keep-alives on long pauses and the ``answer_timeout`` deadline. Each
dialect in ``quart_qa.dialects`` only frames these events.
"""

from __future__ import annotations

import itertools
import random
import re
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..settings.answers import AnswerRule, Step, StepKind
from ..settings.config import StreamSettings
from ..settings.faults import Fault
from ..settings.model_presets import DeltaMode, ModelPreset

# Kana, CJK ideographs and Hangul: a real tokenizer spends about one token on each.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
# Whitespace joins the token after it (" world"), as in BPE vocabularies.
_TOKEN = re.compile(rf"\s*(?:[{_CJK}]|[^\W\d_{_CJK}]+|\d{{1,3}}|[^\w\s]|_)|\s+")

FinishReason = Literal["stop", "length", "stop_sequence", "tool_calls"]
FailureKind = Literal["rule", "timeout", "shutdown"]
BlockKind = StepKind


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
class ToolCall:
    """Who a tool call block is: its place among the answer's calls, an id, the tool.

    ``id`` is random hex; each dialect gives it its own prefix (``call_``, ``toolu_``).
    ``output`` is the step's scripted result (compact JSON), None when the caller runs the tool.
    """

    index: int
    id: str
    name: str
    output: str | None = None


@dataclass(frozen=True)
class Block:
    """One block of an answer's output, in order: reasoning, text, a tool call or an object."""

    index: int
    kind: BlockKind
    call: ToolCall | None = None


@dataclass(frozen=True)
class PlannedDelta:
    """One delta; ``share`` is its part of the rule part it comes from (for pacing)."""

    text: str
    tokens: int
    share: float


@dataclass(frozen=True)
class PlannedBlock:
    """A block and the deltas that send it."""

    block: Block
    deltas: tuple[PlannedDelta, ...]

    @property
    def text(self) -> str:
        """The whole text the block sends."""
        return "".join(delta.text for delta in self.deltas)

    @property
    def tokens(self) -> int:
        """The tokens the block sends."""
        return sum(delta.tokens for delta in self.deltas)


@dataclass(frozen=True)
class AnswerPlan:
    """The blocks of one answer and how it ends: ``finish``, or the rule's error when None.

    A failing answer leaves its last block open: the failure comes instead of its end.
    """

    blocks: tuple[PlannedBlock, ...]
    finish: FinishReason | None
    error: str = ""
    stop_sequence: str | None = None
    fault: Fault | None = None  # a stream fault (stall, disconnect, malformed) to play

    @property
    def deltas(self) -> tuple[PlannedDelta, ...]:
        """Every delta of every block, in order."""
        return tuple(delta for block in self.blocks for delta in block.deltas)

    @property
    def text(self) -> str:
        """The answer text the plan sends (its text and object blocks)."""
        return "".join(block.text for block in self.blocks if block.block.kind in TEXT_KINDS)


TEXT_KINDS = ("text", "object")


@dataclass(frozen=True)
class _Group:
    """Consecutive steps that make one block: their kind, tool, parts and tool output."""

    kind: BlockKind
    tool: str | None
    parts: tuple[str, ...]
    output: str | None = None


def _groups(steps: Sequence[Step]) -> list[_Group]:
    """One group a block: consecutive reasoning or text steps join into one."""
    groups: list[_Group] = []
    for step in steps:
        last = groups[-1] if groups else None
        if last is not None and step.kind == last.kind and step.kind in ("reasoning", "text"):
            groups[-1] = _Group(last.kind, None, last.parts + step.parts)
        else:
            groups.append(_Group(step.kind, step.tool, step.parts, step.output))
    return groups


def _keep_parts(groups: Sequence[_Group], count: int) -> list[_Group]:
    """The groups holding the first ``count`` parts (the last one possibly shortened)."""
    kept: list[_Group] = []
    for group in groups:
        if count <= 0:
            break
        kept.append(_Group(group.kind, group.tool, group.parts[:count], group.output))
        count -= len(group.parts)
    return kept


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


def _deltas(
    parts: Sequence[str], tokens: Sequence[str], mode: DeltaMode
) -> tuple[PlannedDelta, ...]:
    owners = _owners(parts, tokens)
    per_part = Counter(owners)
    if mode == "part":
        return tuple(PlannedDelta(part, per_part[index], 1.0) for index, part in enumerate(parts))
    return tuple(
        PlannedDelta(token, 1, 1 / per_part[owner])
        for token, owner in zip(tokens, owners, strict=True)
    )


def _stop_in_text(
    groups: list[_Group], kept: list[_Group], stop: Sequence[str]
) -> tuple[list[_Group], str] | None:
    """``kept`` cut before the first stop sequence the answer text reaches, if any."""
    for index, group in enumerate(kept):
        if group.kind != "text":
            continue
        hit = _earliest_stop("".join(groups[index].parts), stop)
        if hit is not None and hit[0] + len(hit[1]) <= sum(len(part) for part in group.parts):
            cut = _Group(group.kind, None, _cut_parts(group.parts, hit[0]))
            return [*kept[:index], cut], hit[1]
    return None


def plan_answer(
    rule: AnswerRule,
    *,
    steps: Sequence[Step] | None = None,
    mode: DeltaMode = "token",
    max_tokens: int | None = None,
    stop: Sequence[str] = (),
) -> AnswerPlan:
    """What one request gets from ``rule`` (or from ``steps``, the rule's steps shaped to the
    request).

    Consecutive reasoning or text steps make one block. Each block is tokenized as one text,
    so `` world`` stays one token across a part boundary. ``fail_after`` counts the parts of
    all steps; a stop sequence found in the answer text before the failure point ends the
    answer there (the sequence itself is not sent); more tokens than ``max_tokens`` cut it
    with ``length``; otherwise it ends naturally (``tool_calls`` when it calls a tool) or,
    with ``fail_after``, fails after that many parts. In ``"token"`` mode every token is a
    delta; in ``"part"`` mode every rule part is one.
    """
    fault = rule.fault if rule.fault is not None and not rule.fault.before_stream else None
    if fault is not None and fault.kind == "truncate":
        max_tokens = fault.after if max_tokens is None else min(max_tokens, fault.after)
        fault = None  # a truncation is the plan itself: ``length`` after that many tokens
    groups = _groups(rule.steps if steps is None else steps)
    fails = rule.fail_after is not None
    kept = _keep_parts(groups, rule.fail_after) if rule.fail_after is not None else groups
    finish: FinishReason | None = None if fails else "stop"
    stop_sequence = None
    stopped = _stop_in_text(groups, kept, stop)
    if stopped is not None:
        kept, stop_sequence = stopped
        finish = "stop_sequence"
    budget = max_tokens
    blocks: list[PlannedBlock] = []
    calls = 0
    for group in kept:
        tokens = tokenize("".join(group.parts))
        parts = group.parts
        if budget is not None and len(tokens) > budget:
            tokens = tokens[:budget]
            parts = _cut_parts(parts, sum(len(token) for token in tokens))
            finish, stop_sequence = "length", None
        parts = tuple(part for part in parts if part)
        if parts:
            call = None
            if group.kind == "tool_call" and group.tool is not None:
                call = ToolCall(calls, uuid.uuid4().hex[:24], group.tool, group.output)
                calls += 1
            block = Block(len(blocks), group.kind, call)
            blocks.append(PlannedBlock(block, _deltas(parts, tokens, mode)))
        if finish == "length":
            break
        if budget is not None:
            budget -= len(tokens)
    if finish == "stop" and calls:
        finish = "tool_calls"
    return AnswerPlan(tuple(blocks), finish, "" if finish else rule.error, stop_sequence, fault)


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
        if not self.jitter:  # no random source to seed (seeding one costs more than the rest)
            return [self.base_wait(delta, index) for index, delta in enumerate(deltas)]
        rng = random.Random(self.seed)
        waits = []
        for index, delta in enumerate(deltas):
            wait = self.base_wait(delta, index)
            if wait > 0:
                wait *= rng.uniform(1 - self.jitter, 1 + self.jitter)
            waits.append(wait)
        return waits

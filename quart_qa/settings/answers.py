"""Answer scripts: the rules that pick and shape the simulated model's answer.

A rule answers with ``parts``, ``text`` or ``steps``: reasoning, answer text, tool calls and
structured objects, in order. The first rule whose conditions all hold wins: ``match`` (a regex
found in the last user message, case-insensitive), ``after_tool`` (the last message is that
tool's result), ``tools`` (the request offers tools, or none) and ``turn`` (the user's turn
number). The rule without conditions is the default and must be the last one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from .faults import Fault

ChunkBy = Literal["word", "char", "sentence"]
CHUNK_MODES: tuple[ChunkBy, ...] = ("word", "char", "sentence")
StepKind = Literal["reasoning", "text", "tool_call", "object"]
DEFAULT_RULE_ERROR = "模拟的模型故障 (simulated model failure)"
ANY_TOOL = "*"
TOOL_RESULT_PLACEHOLDER = "{tool_result}"
# OpenAI's rule for function names, the strictest of the APIs.
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")

_WORD = re.compile(r"\S+\s*")
_SENTENCE = re.compile(r".*?(?:[.!?。!?…]+[\"'”’)\]]*\s*|\n+|$)", re.DOTALL)


def split_text(text: str, chunk_by: ChunkBy) -> tuple[str, ...]:
    """Split ``text`` into pieces whose concatenation is exactly ``text``."""
    if chunk_by == "char":
        return tuple(text)
    pattern = _WORD if chunk_by == "word" else _SENTENCE
    stripped = text.lstrip()
    pieces = [piece for piece in pattern.findall(stripped) if piece]
    leading = text[: len(text) - len(stripped)]
    if leading:
        if pieces:
            pieces[0] = leading + pieces[0]
        else:
            pieces = [leading]
    return tuple(pieces)


def compact_json(value: object) -> str:
    """``value`` as one-line JSON, the way the APIs send tool arguments."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Step:
    """One step of an answer: what kind it is, its pieces and, for a tool call, the tool.

    The pieces joined are the step's text: the reasoning or answer text, a tool call's
    arguments as compact JSON, or the object as compact JSON. ``output`` (compact JSON) is a
    tool call's scripted result: the answering app ran the tool itself. Front ends show it
    (the chat page, the AI SDK's UI stream, AG-UI); the model APIs send the call alone, since
    a model never runs its tools.
    """

    kind: StepKind
    parts: tuple[str, ...]
    tool: str | None = None
    output: str | None = None

    @property
    def text(self) -> str:
        """The whole text of the step."""
        return "".join(self.parts)

    def describe(self) -> str:
        """One line for ``check-config``."""
        if self.kind == "tool_call":
            result = "" if self.output is None else f" -> {self.output}"
            return f"tool call {self.tool} {self.text}{result}"
        if self.kind == "object":
            return f"object {self.text}"
        return f"{self.kind}: {len(self.parts)} part(s)"


def text_step(text: str, chunk_by: ChunkBy = "word", kind: StepKind = "text") -> Step:
    """A reasoning or text step split by ``chunk_by``."""
    return Step(kind, split_text(text, chunk_by))


def tool_call_step(tool: str, arguments: Mapping[str, object]) -> Step:
    """A call to ``tool`` with ``arguments`` (sent as compact JSON)."""
    return Step("tool_call", (compact_json(arguments),), tool)


@dataclass(frozen=True)
class Conversation:
    """What a rule can match on, read from one request by its dialect.

    ``tool_result`` names the tool whose result is the last message (``""`` when the call it
    answers is not in the conversation), None when the last message is no tool result;
    ``tool_output`` is that result's text. ``tools`` names the tools the answer may call; None
    where callers have no tools (the chat page): no rule is passed over for its tool calls.
    ``turn`` counts the user's messages, tool results left out (1 for the first question).
    """

    question: str = ""
    tool_result: str | None = None
    tool_output: str = ""
    tools: tuple[str, ...] | None = None
    turn: int = 1


@dataclass(frozen=True)
class AnswerRule:
    """One scripted answer, when it applies, and how it is paced or made to fail."""

    steps: tuple[Step, ...]
    match: re.Pattern[str] | None = None
    after_tool: str | None = None
    tools: bool | None = None
    turn: int | None = None
    delay: float | None = None
    first_chunk_delay: float | None = None
    fail_after: int | None = None
    error: str = DEFAULT_RULE_ERROR
    fault: Fault | None = None
    times: int | None = None
    sequence: tuple[AnswerRule, ...] = ()

    @property
    def uses_allowed(self) -> int | None:
        """How many questions this rule answers (None: any number)."""
        return len(self.sequence) if self.sequence else self.times

    def answer_for(self, used: int) -> AnswerRule:
        """The rule that gives answer number ``used`` (from 0): a sequence's entry, or itself."""
        if not self.sequence:
            return self
        entry = self.sequence[min(used, len(self.sequence) - 1)]
        return replace(
            entry,
            match=self.match,
            after_tool=self.after_tool,
            tools=self.tools,
            turn=self.turn,
            delay=self.delay if entry.delay is None else entry.delay,
            first_chunk_delay=(
                self.first_chunk_delay
                if entry.first_chunk_delay is None
                else entry.first_chunk_delay
            ),
        )

    @property
    def parts(self) -> tuple[str, ...]:
        """The answer text's parts (text and object steps): the ``ANSWER_CHUNK`` events."""
        return tuple(
            part for step in self.steps if step.kind in ("text", "object") for part in step.parts
        )

    @property
    def part_count(self) -> int:
        """How many parts all steps have together (``fail_after`` counts these)."""
        return sum(len(step.parts) for step in self.steps)

    @property
    def text_fail_after(self) -> int | None:
        """``fail_after`` counted in :attr:`parts` only: after how many answer-text parts a
        client that shows only the text sees the failure."""
        if self.fail_after is None:
            return None
        left, shown = self.fail_after, 0
        for step in self.steps:
            taken = min(left, len(step.parts))
            if step.kind in ("text", "object"):
                shown += taken
            left -= taken
        return shown

    @property
    def is_default(self) -> bool:
        """True for the rule without conditions."""
        return (
            self.match is None
            and self.after_tool is None
            and self.tools is None
            and (self.turn is None)
        )

    @property
    def called_tools(self) -> frozenset[str]:
        """The tools this rule's steps call."""
        return frozenset(step.tool for step in self.steps if step.tool is not None)

    def matches(self, conversation: Conversation) -> bool:
        """True when every condition of this rule holds for ``conversation`` and it calls no
        tool the conversation does not offer (a model cannot call a tool it was not given)."""
        offered = conversation.tools
        if offered is not None and not self.called_tools <= frozenset(offered):
            return False
        if self.match is not None and self.match.search(conversation.question) is None:
            return False
        if self.after_tool is not None:
            result = conversation.tool_result
            if result is None or self.after_tool not in (ANY_TOOL, result):
                return False
        if self.tools is not None and bool(conversation.tools) != self.tools:
            return False
        return self.turn is None or conversation.turn == self.turn

    def _conditions(self) -> str:
        conditions = []
        if self.match is not None:
            conditions.append(f"match /{self.match.pattern}/")
        if self.after_tool is not None:
            name = "any tool" if self.after_tool == ANY_TOOL else self.after_tool
            conditions.append(f"after {name} returns")
        if self.tools is not None:
            conditions.append("tools offered" if self.tools else "no tools offered")
        if self.turn is not None:
            conditions.append(f"turn {self.turn}")
        return " and ".join(conditions) or "default"

    def describe(self) -> str:
        """What ``check-config`` prints: one line, then one line a step for a stepped rule."""
        extras = []
        if self.delay is not None:
            extras.append(f"delay {self.delay:g}s")
        if self.first_chunk_delay is not None:
            extras.append(f"first chunk after {self.first_chunk_delay:g}s")
        if self.fail_after is not None:
            extras.append(f"fails after {self.fail_after} chunk(s): {self.error!r}")
        if self.fault is not None:
            extras.append(f"fault: {self.fault.describe()}")
        if self.times is not None:
            extras.append(f"{self.times} time(s)")
        suffix = f" ({', '.join(extras)})" if extras else ""
        if self.sequence:
            lines = [f"{self._conditions()}: a sequence of {len(self.sequence)} answer(s){suffix}"]
            lines.extend(
                f"    {index}. {entry.describe()}" for index, entry in enumerate(self.sequence, 1)
            )
            return "\n".join(lines)
        if not self.steps:
            return f"{self._conditions()}: no answer{suffix}"
        if len(self.steps) == 1 and self.steps[0].kind == "text":
            return f"{self._conditions()}: {len(self.parts)} part(s){suffix}"
        lines = [f"{self._conditions()}: {len(self.steps)} step(s){suffix}"]
        lines.extend(f"    {index}. {step.describe()}" for index, step in enumerate(self.steps, 1))
        return "\n".join(lines)


def choose_rule(rules: Sequence[AnswerRule], conversation: Conversation | str) -> AnswerRule:
    """The first rule that matches; the last (default) rule matches everything.

    A plain string is a conversation of one question (the chat page's case).
    """
    if isinstance(conversation, str):
        conversation = Conversation(question=conversation)
    for rule in rules:
        if rule.matches(conversation):
            return rule
    return rules[-1]

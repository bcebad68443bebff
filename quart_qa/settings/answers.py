"""Answer scripts: the rules that pick and shape the simulated model's answer.

A rule answers with ``parts``, ``text`` or ``steps``: reasoning, answer text, tool calls and
structured objects, in order. The first rule whose conditions all hold wins: ``match`` (a regex
found in the last user message, case-insensitive), ``after_tool`` (the last message is that
tool's result), ``tools`` (the request offers tools, or none) and ``turn`` (the user's turn
number). The rule without conditions is the default and must be the last one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from .errors import ConfigError
from .faults import Fault, fault_from_mapping
from .sequences import SEQUENCE_KEYS, repeats_from_mapping

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


_ANSWER_KEYS = frozenset({"parts", "text", "steps"})
_CONDITION_KEYS = frozenset({"match", "after_tool", "tools", "turn"})
_RULE_KEYS = (
    _ANSWER_KEYS
    | _CONDITION_KEYS
    | {
        "chunk_by",
        "delay",
        "first_chunk_delay",
        "fail_after",
        "error",
        "fault",
    }
    | SEQUENCE_KEYS
)
_STEP_KINDS: dict[str, StepKind] = {
    "reasoning": "reasoning",
    "text": "text",
    "tool": "tool_call",
    "object": "object",
}
_STEP_KEYS = frozenset({*_STEP_KINDS, "arguments", "output", "chunk_by"})


def _number(raw: Mapping[str, object], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{key}", f"must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{where}.{key}", f"must be a finite number, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}.{key}", f"must be >= 0, got {value!r}")
    return float(value)


def _string(raw: Mapping[str, object], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ConfigError(f"{where}.{key}", f"must be a string, got {value!r}")


def _chunk_by(raw: Mapping[str, object], where: str) -> ChunkBy:
    chunk_by = raw.get("chunk_by", "word")
    for mode in CHUNK_MODES:
        if chunk_by == mode:
            return mode
    raise ConfigError(f"{where}.chunk_by", f"must be one of {CHUNK_MODES}, got {chunk_by!r}")


def _text(raw: Mapping[str, object], key: str, where: str) -> str:
    text = _string(raw, key, where)
    if not text:
        raise ConfigError(f"{where}.{key}", "must be a non-empty string")
    return text


def _json_value(raw: Mapping[str, object], key: str, where: str) -> object:
    """A TOML table or array, or a string of JSON; checked to be JSON."""
    value = raw[key]
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as error:
            raise ConfigError(f"{where}.{key}", f"is not valid JSON: {error}") from None
    try:
        compact_json(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}.{key}", "must hold only JSON values (no dates or times)"
        ) from None
    return value


def _table(raw: object, where: str, known: frozenset[str]) -> Mapping[str, object]:
    """``raw`` checked to be a table of ``known`` keys only."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must be a table")
    for key in raw:
        if key not in known:
            raise ConfigError(f"{where}.{key}", f"unknown key (known keys: {sorted(known)})")
    return raw


def step_from_mapping(raw: object, where: str) -> Step:
    """Validate one step: a table with one of ``reasoning``, ``text``, ``tool``, ``object``."""
    raw = _table(raw, where, _STEP_KEYS)
    kinds = [key for key in _STEP_KINDS if key in raw]
    if len(kinds) != 1:
        raise ConfigError(where, "needs exactly one of `reasoning`, `text`, `tool` or `object`")
    key = kinds[0]
    for only_tool in ("arguments", "output"):
        if only_tool in raw and key != "tool":
            raise ConfigError(f"{where}.{only_tool}", "only applies together with `tool`")
    chunk_by = _chunk_by(raw, where)
    if key in ("reasoning", "text"):
        return Step(_STEP_KINDS[key], split_text(_text(raw, key, where), chunk_by))
    if key == "object":
        value = _json_value(raw, "object", where)
        if not isinstance(value, dict | list):
            raise ConfigError(f"{where}.object", "must be a JSON object or array")
        return Step("object", split_text(compact_json(value), chunk_by))
    name = _text(raw, "tool", where)
    if not TOOL_NAME.fullmatch(name):
        raise ConfigError(
            f"{where}.tool", f"must be 1-64 letters, digits, '_' or '-', got {name!r}"
        )
    arguments = _json_value(raw, "arguments", where) if "arguments" in raw else {}
    if not isinstance(arguments, dict):
        raise ConfigError(f"{where}.arguments", "must be a table or a JSON object")
    output = compact_json(_json_value(raw, "output", where)) if "output" in raw else None
    return Step("tool_call", split_text(compact_json(arguments), chunk_by), name, output)


def _steps(raw: Mapping[str, object], where: str) -> tuple[Step, ...]:
    answers = [key for key in _ANSWER_KEYS if key in raw]
    if len(answers) != 1:
        raise ConfigError(
            where, "needs exactly one of `parts` (a list), `text` (a string) or `steps` (a list)"
        )
    if "chunk_by" in raw and "text" not in raw:
        raise ConfigError(f"{where}.chunk_by", "only applies together with `text`")
    if "parts" in raw:
        parts = raw["parts"]
        if not isinstance(parts, list) or not parts:
            raise ConfigError(f"{where}.parts", "must be a non-empty list of strings")
        for index, part in enumerate(parts):
            if not isinstance(part, str) or not part:
                raise ConfigError(f"{where}.parts[{index}]", "must be a non-empty string")
        return (Step("text", tuple(parts)),)
    if "text" in raw:
        return (Step("text", split_text(_text(raw, "text", where), _chunk_by(raw, where))),)
    steps = raw["steps"]
    if not isinstance(steps, list) or not steps:
        raise ConfigError(f"{where}.steps", "must be a non-empty array of tables")
    parsed = tuple(
        step_from_mapping(step, f"{where}.steps[{index}]") for index, step in enumerate(steps)
    )
    if all(step.kind == "reasoning" for step in parsed):
        raise ConfigError(
            f"{where}.steps", "needs a `text`, `tool` or `object` step, not only reasoning"
        )
    return parsed


@dataclass(frozen=True)
class _Conditions:
    match: re.Pattern[str] | None
    after_tool: str | None
    tools: bool | None
    turn: int | None


def _conditions(raw: Mapping[str, object], where: str) -> _Conditions:
    pattern = _string(raw, "match", where)
    compiled = None
    if pattern is not None:
        if not pattern:
            raise ConfigError(f"{where}.match", "must not be empty (omit it for the default rule)")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise ConfigError(f"{where}.match", f"invalid regex {pattern!r}: {error}") from None
    after_tool = _string(raw, "after_tool", where)
    if after_tool is not None and after_tool != ANY_TOOL and not TOOL_NAME.fullmatch(after_tool):
        raise ConfigError(
            f"{where}.after_tool", f"must be a tool name or {ANY_TOOL!r}, got {after_tool!r}"
        )
    tools = raw.get("tools")
    if tools is not None and not isinstance(tools, bool):
        raise ConfigError(f"{where}.tools", f"must be true or false, got {tools!r}")
    turn = raw.get("turn")
    if turn is not None and (isinstance(turn, bool) or not isinstance(turn, int) or turn < 1):
        raise ConfigError(f"{where}.turn", f"must be an integer >= 1, got {turn!r}")
    return _Conditions(compiled, after_tool, tools, turn)


def rule_from_mapping(raw: object, where: str) -> AnswerRule:
    """Validate one ``[[answers]]`` table."""
    raw = _table(raw, where, _RULE_KEYS)
    conditions = _conditions(raw, where)
    fault = fault_from_mapping(raw["fault"], f"{where}.fault") if "fault" in raw else None
    times, sequence = repeats_from_mapping(raw, where, rule_from_mapping)
    answered = _ANSWER_KEYS & set(raw)
    if sequence:
        for key in sorted(answered | {"chunk_by", "fail_after", "error", "fault"} & set(raw)):
            raise ConfigError(f"{where}.{key}", "belongs in the answers of the `sequence`")
        steps: tuple[Step, ...] = ()
    elif fault is not None and fault.before_stream and not answered:
        steps = ()  # refused before anything is sent: no answer needed
    else:
        steps = _steps(raw, where)
    part_count = sum(len(step.parts) for step in steps)
    fail_after = raw.get("fail_after")
    if fail_after is not None:
        if isinstance(fail_after, bool) or not isinstance(fail_after, int) or fail_after < 0:
            raise ConfigError(f"{where}.fail_after", f"must be an integer >= 0, got {fail_after!r}")
        if fail_after > part_count:
            raise ConfigError(
                f"{where}.fail_after",
                f"is {fail_after} but the answer has only {part_count} part(s)",
            )
    error_text = _string(raw, "error", where)
    return AnswerRule(
        steps=steps,
        match=conditions.match,
        after_tool=conditions.after_tool,
        tools=conditions.tools,
        turn=conditions.turn,
        delay=_number(raw, "delay", where),
        first_chunk_delay=_number(raw, "first_chunk_delay", where),
        fail_after=fail_after,
        error=error_text or DEFAULT_RULE_ERROR,
        fault=fault,
        times=times,
        sequence=sequence,
    )


def rules_from_list(raw: object, *, needs_default: bool = True) -> tuple[AnswerRule, ...]:
    """Validate ``[[answers]]``: a list of rules whose last and only default has no conditions.

    A script scoped to some requests, or added in front of the rules in force, falls back
    on those rules: it may leave the default out (``needs_default=False``). A rule without
    conditions that answers a limited number of times (``times``, ``sequence``) is no default.
    """
    if not isinstance(raw, list) or not raw:
        raise ConfigError("answers", "must be a non-empty array of tables ([[answers]])")
    rules = tuple(rule_from_mapping(item, f"answers[{index}]") for index, item in enumerate(raw))
    if not needs_default:
        return rules
    last = rules[-1]
    if last.is_default and last.uses_allowed is not None:
        raise ConfigError(
            f"answers[{len(rules) - 1}]",
            "the default rule answers whatever is left: it takes no `times` or `sequence`",
        )
    defaults = [
        index for index, rule in enumerate(rules) if rule.is_default and rule.uses_allowed is None
    ]
    if not defaults:
        raise ConfigError(
            "answers",
            "no default rule: the last [[answers]] must have no `match`, `after_tool`, "
            "`tools` or `turn`",
        )
    if len(defaults) > 1 or defaults[0] != len(rules) - 1:
        raise ConfigError(
            f"answers[{defaults[0]}]",
            "the default rule (no `match`, `after_tool`, `tools` or `turn`) must be exactly "
            "one and the last",
        )
    return rules

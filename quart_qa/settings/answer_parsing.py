"""Reading ``[[answers]]`` from TOML (or the admin API): rules, steps and their one-line errors."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .answers import (
    ANY_TOOL,
    CHUNK_MODES,
    DEFAULT_RULE_ERROR,
    TOOL_NAME,
    AnswerRule,
    ChunkBy,
    Step,
    StepKind,
    compact_json,
    split_text,
)
from .errors import ConfigError
from .faults import fault_from_mapping
from .sequences import SEQUENCE_KEYS, repeats_from_mapping

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

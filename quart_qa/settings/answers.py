"""Answer scripts: the rules that pick and split the simulated model's answer.

The first rule whose ``match`` regex is found in the question (case-insensitive) wins;
the rule without ``match`` is the default and must be the last one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigError

ChunkBy = Literal["word", "char", "sentence"]
CHUNK_MODES: tuple[ChunkBy, ...] = ("word", "char", "sentence")
DEFAULT_RULE_ERROR = "模拟的模型故障 (simulated model failure)"

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


@dataclass(frozen=True)
class AnswerRule:
    """One scripted answer and how it is paced or made to fail."""

    parts: tuple[str, ...]
    match: re.Pattern[str] | None = None
    delay: float | None = None
    first_chunk_delay: float | None = None
    fail_after: int | None = None
    error: str = DEFAULT_RULE_ERROR

    def matches(self, question: str) -> bool:
        """True when this rule answers ``question`` (the default rule answers anything)."""
        return self.match is None or self.match.search(question) is not None

    def describe(self) -> str:
        """One line for ``check-config``."""
        pattern = f"match /{self.match.pattern}/" if self.match else "default"
        extras = []
        if self.delay is not None:
            extras.append(f"delay {self.delay:g}s")
        if self.first_chunk_delay is not None:
            extras.append(f"first chunk after {self.first_chunk_delay:g}s")
        if self.fail_after is not None:
            extras.append(f"fails after {self.fail_after} chunk(s): {self.error!r}")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return f"{pattern}: {len(self.parts)} part(s){suffix}"


def choose_rule(rules: Sequence[AnswerRule], question: str) -> AnswerRule:
    """The first matching rule; the last (default) rule matches everything."""
    for rule in rules:
        if rule.matches(question):
            return rule
    return rules[-1]


_RULE_KEYS = frozenset(
    {"match", "parts", "text", "chunk_by", "delay", "first_chunk_delay", "fail_after", "error"}
)


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


def _parts(raw: Mapping[str, object], where: str) -> tuple[str, ...]:
    has_parts, has_text = "parts" in raw, "text" in raw
    if has_parts == has_text:
        raise ConfigError(where, "needs exactly one of `parts` (a list) or `text` (a string)")
    if "chunk_by" in raw and not has_text:
        raise ConfigError(f"{where}.chunk_by", "only applies together with `text`")
    if has_parts:
        parts = raw["parts"]
        if not isinstance(parts, list) or not parts:
            raise ConfigError(f"{where}.parts", "must be a non-empty list of strings")
        for index, part in enumerate(parts):
            if not isinstance(part, str) or not part:
                raise ConfigError(f"{where}.parts[{index}]", "must be a non-empty string")
        return tuple(parts)
    text = _string(raw, "text", where)
    if not text:
        raise ConfigError(f"{where}.text", "must be a non-empty string")
    chunk_by = raw.get("chunk_by", "word")
    if chunk_by not in CHUNK_MODES:
        raise ConfigError(f"{where}.chunk_by", f"must be one of {CHUNK_MODES}, got {chunk_by!r}")
    return split_text(text, chunk_by)


def rule_from_mapping(raw: object, where: str) -> AnswerRule:
    """Validate one ``[[answers]]`` table."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, "must be a table")
    for key in raw:
        if key not in _RULE_KEYS:
            raise ConfigError(f"{where}.{key}", f"unknown key (known keys: {sorted(_RULE_KEYS)})")
    pattern = _string(raw, "match", where)
    compiled = None
    if pattern is not None:
        if not pattern:
            raise ConfigError(f"{where}.match", "must not be empty (omit it for the default rule)")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise ConfigError(f"{where}.match", f"invalid regex {pattern!r}: {error}") from None
    parts = _parts(raw, where)
    fail_after = raw.get("fail_after")
    if fail_after is not None:
        if isinstance(fail_after, bool) or not isinstance(fail_after, int) or fail_after < 0:
            raise ConfigError(f"{where}.fail_after", f"must be an integer >= 0, got {fail_after!r}")
        if fail_after > len(parts):
            raise ConfigError(
                f"{where}.fail_after",
                f"is {fail_after} but the answer has only {len(parts)} part(s)",
            )
    error_text = _string(raw, "error", where)
    return AnswerRule(
        parts=parts,
        match=compiled,
        delay=_number(raw, "delay", where),
        first_chunk_delay=_number(raw, "first_chunk_delay", where),
        fail_after=fail_after,
        error=error_text or DEFAULT_RULE_ERROR,
    )


def rules_from_list(raw: object) -> tuple[AnswerRule, ...]:
    """Validate ``[[answers]]``: a list of rules whose last and only default has no ``match``."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError("answers", "must be a non-empty array of tables ([[answers]])")
    rules = tuple(rule_from_mapping(item, f"answers[{index}]") for index, item in enumerate(raw))
    defaults = [index for index, rule in enumerate(rules) if rule.match is None]
    if not defaults:
        raise ConfigError("answers", "no default rule: the last [[answers]] must have no `match`")
    if len(defaults) > 1 or defaults[0] != len(rules) - 1:
        raise ConfigError(
            f"answers[{defaults[0]}]",
            "the default rule (no `match`) must be exactly one and the last",
        )
    return rules

"""How many times a rule answers: ``times = N`` and ``sequence = [...]`` (parsing only).

A rule with ``times`` answers that many matching questions, then the next matching rule
does. A rule with ``sequence`` answers with each of its answers in turn (an answer is a rule
body without conditions), then likewise steps aside. The counts are kept by the rule book
(:mod:`quart_qa.streaming.rulebook`), per rule (adding rules ahead leaves them alone), and
start again when it is reset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from .errors import ConfigError

SEQUENCE_KEYS = frozenset({"times", "sequence"})
ENTRY_FORBIDDEN = frozenset({"match", "after_tool", "tools", "turn", "times", "sequence"})

_Rule = TypeVar("_Rule")


def repeats_from_mapping(
    raw: Mapping[str, object], where: str, parse_step: Callable[[object, str], _Rule]
) -> tuple[int | None, tuple[_Rule, ...]]:
    """Validate ``times`` and ``sequence``; each answer of a sequence is parsed by
    ``parse_step``, the function that parses a whole rule, so it takes every shape a rule does."""
    times = raw.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ConfigError(f"{where}.times", f"must be an integer >= 1, got {times!r}")
    steps = raw.get("sequence")
    if steps is None:
        return times, ()
    if times is not None:
        raise ConfigError(f"{where}.times", "does not go with `sequence` (each answer is one use)")
    if not isinstance(steps, list) or not steps:
        raise ConfigError(f"{where}.sequence", "must be a non-empty array of tables")
    parsed = []
    for index, step in enumerate(steps):
        step_where = f"{where}.sequence[{index}]"
        if isinstance(step, Mapping):
            for key in step:
                if key in ENTRY_FORBIDDEN:
                    raise ConfigError(
                        f"{step_where}.{key}", "belongs to the rule, not to one of its answers"
                    )
        parsed.append(parse_step(step, step_where))
    return None, tuple(parsed)

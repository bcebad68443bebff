"""A set of rules in force, where each rule's use count is kept, and the rule that answers.

A rule's use count belongs to the rule, not to the set it stands in: adding rules ahead of a
script (``POST /_qa/script``) makes a new set, but each rule carried over keeps its
:class:`Origin` (the set it was first given in and its place there), so its count goes on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..settings.answers import AnswerRule


@dataclass(frozen=True)
class Origin:
    """Where a rule was first given: the set's serial in this process, its key in a shared
    store (the same on every node), and the rule's place in that set."""

    serial: int
    key: str
    index: int

    @property
    def local(self) -> tuple[int, int]:
        """The rule's use count in this process."""
        return (self.serial, self.index)

    @property
    def shared(self) -> str:
        """The rule's use count in a shared store."""
        return f"{self.key}:{self.index}"


@dataclass(frozen=True)
class RuleSet:
    """Rules from one source, each with the origin its use count is kept under."""

    label: str
    rules: tuple[AnswerRule, ...]
    origins: tuple[Origin, ...]

    def count_key(self, index: int) -> str:
        """The shared use count of rule ``index``."""
        return self.origins[index].shared

    def local_key(self, index: int) -> tuple[int, int]:
        """The in-process use count of rule ``index``."""
        return self.origins[index].local


def origins(serial: int, key: str, count: int) -> tuple[Origin, ...]:
    """The origins of ``count`` rules first given together."""
    return tuple(Origin(serial, key, index) for index in range(count))


def content_key(rules: Sequence[AnswerRule]) -> str:
    """A key naming these rules by their content: nodes with one TOML file share counts."""
    return "c" + hashlib.sha256(repr(tuple(rules)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Choice:
    """The rule (or sequence step) that answers, and where it comes from."""

    rule: AnswerRule
    label: str


def counted(rule_set: RuleSet, index: int, rule: AnswerRule, used: int) -> Choice:
    """The answer of ``rule`` for its use number ``used`` (from 0), labelled for the journal."""
    label = f"{rule_set.label} answers[{index}]"
    limit = rule.uses_allowed
    if limit is not None:
        label += f" ({used + 1}/{limit})"
    return Choice(rule.answer_for(used), label)

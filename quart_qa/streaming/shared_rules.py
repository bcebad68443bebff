"""What the rule book needs from a store that every node shares (the Redis broker's).

Scripts are kept as the raw rule mappings they were pushed as (each node parses them with
the TOML's own checks), with the version of the store when each was set; a version counter
moves on every change, so a node learns with one cheap read whether its copy is stale. Use
counts of rules with ``times`` or a ``sequence`` are kept there too, counted atomically, each
under the version at which its rule was given and its place among the rules given with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..settings.scripts import Scope, ScriptMode


@dataclass(frozen=True)
class StoredSet:
    """One script as stored: its scope (None: every request), rules as pushed, and when.

    ``then_config``: a global script made by adding rules while none replaced the TOML's;
    each node follows the pushed rules with its own TOML rules, as it does without Redis.
    """

    scope: Scope | None
    raw_rules: Sequence[object]
    generation: int
    given: tuple[int, ...]
    """The version at which each rule was given: adding rules ahead leaves the others' as
    they were, and a rule's use count is keyed by it, so adding restarts no count."""
    then_config: bool = False


@dataclass(frozen=True)
class StoredScripts:
    """Every script in the store at one version."""

    version: int
    sets: tuple[StoredSet, ...]


class RuleStore(Protocol):
    """Scripts and use counts shared by every node. Each call may raise
    :class:`~quart_qa.streaming.refusals.BrokerUnavailable`."""

    async def version(self) -> int:
        """The store's version: it changes whenever a script is set or reset."""

    async def load(self) -> StoredScripts:
        """Every script, at one version."""

    async def save(self, scope: Scope | None, raw_rules: Sequence[object], mode: ScriptMode) -> int:
        """Replace the scope's script, or put rules ahead of it (the rules already there keep
        the version they were given at); the new version."""

    async def reset(self, scope: Scope | None) -> int:
        """Drop one scope's script, or (None) every script and every use count."""

    async def use(self, limits: Sequence[tuple[str, int]]) -> tuple[int, int]:
        """Of ``(key, limit)`` pairs in order (limit 0: no limit), count a use of the first
        still under its limit; its position and the uses it had before (-1 when none)."""

    async def uses(self, key: str) -> int:
        """Uses counted under ``key`` so far."""

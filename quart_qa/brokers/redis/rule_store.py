"""Scripts set through ``/_qa/`` and the use counts of their rules, shared by every node.

A :class:`~quart_qa.streaming.shared_rules.RuleStore` over Redis: each script is kept as
the JSON of its rules as pushed, under a field naming its scope, with the version at which
each run of its rules was given (so a rule's use count survives rules added ahead of it);
the version counter moves on every change. Adding to a script is one Lua call
that joins the two JSON arrays, so two nodes adding at once lose neither's rules.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from ...settings.scripts import Scope, ScriptMode
from ...streaming.shared_rules import StoredScripts, StoredSet
from .keys import admin_keys
from .link import NodeLink

EVERY_REQUEST = "*"  # the field of the script of every request
THEN_CONFIG = "config"


def scope_field(scope: Scope | None) -> str:
    """The hash field of ``scope``'s script."""
    if scope is None:
        return EVERY_REQUEST
    return json.dumps([scope.kind, scope.header, scope.value], ensure_ascii=False)


def scope_of(field: str) -> Scope | None:
    """The scope a hash field names (the inverse of :func:`scope_field`)."""
    if field == EVERY_REQUEST:
        return None
    kind, header, value = json.loads(field)
    return Scope(kind, value, header)


def given_at(runs: str, count: int) -> tuple[int, ...]:
    """The version at which each of ``count`` rules was given, from the runs the store keeps
    (``"<version>:<count>,...,<version>"``, newest first; the last run is the rest)."""
    given: list[int] = []
    for run in runs.split(","):
        version, _, length = run.partition(":")
        given += [int(version)] * (int(length) if length else count - len(given))
    return tuple(given[:count])


class RedisRuleStore:
    """Scripts and use counts under ``<prefix>:{admin}:``; calls refuse while Redis is away."""

    def __init__(self, link: NodeLink) -> None:
        self._link = link
        self._keys = admin_keys(link.prefix)

    async def version(self) -> int:
        with self._link.call():
            return int(await self._link.client.get(self._keys.version) or 0)

    async def load(self) -> StoredScripts:
        keys = self._keys
        with self._link.call():
            async with self._link.client.pipeline(transaction=True) as pipe:
                pipe.get(keys.version)
                pipe.hgetall(keys.rules)
                pipe.hgetall(keys.generations)
                pipe.hgetall(keys.bases)
                version, rules, generations, bases = await pipe.execute()
        sets = []
        for field, raw in rules.items():
            raw_rules = json.loads(raw)
            given = given_at(generations.get(field, "0"), len(raw_rules))
            then_config = bases.get(field) == THEN_CONFIG
            sets.append(
                StoredSet(scope_of(field), raw_rules, given[0] if given else 0, given, then_config)
            )
        return StoredScripts(int(version or 0), tuple(sets))

    async def save(self, scope: Scope | None, raw_rules: Sequence[object], mode: ScriptMode) -> int:
        rules = json.dumps(list(raw_rules), ensure_ascii=False, default=str)
        base = THEN_CONFIG if scope is None else ""
        with self._link.call():
            return int(
                await self._link.scripts.save_script(
                    keys=self._keys.scripts(),
                    args=[scope_field(scope), rules, mode, base, len(raw_rules)],
                )
            )

    async def reset(self, scope: Scope | None) -> int:
        field = "" if scope is None else scope_field(scope)
        with self._link.call():
            return int(
                await self._link.scripts.reset_script(keys=self._keys.scripts(), args=[field])
            )

    async def use(self, limits: Sequence[tuple[str, int]]) -> tuple[int, int]:
        args: list[str | int] = []
        for key, limit in limits:
            args += [key, limit]
        with self._link.call():
            position, used = await self._link.scripts.use(keys=[self._keys.uses], args=args)
        return int(position), int(used)

    async def uses(self, key: str) -> int:
        with self._link.call():
            return int(await self._link.client.hget(self._keys.uses, key) or 0)

"""The scripts of a shared store read back as rule sets, each rule counted where it was given.

Every node reads the same stored scripts into the same count keys (``s<version>:<place>``),
so a use counted on one node is seen on all; the TOML's rules that follow a script made by
adding keep their own (content) keys.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from ..settings.answer_parsing import rules_from_list
from ..settings.errors import ConfigError
from ..settings.scripts import Scope
from .rule_sets import Origin, RuleSet
from .shared_rules import StoredScripts

log = logging.getLogger("quart_qa.rules")


def stored_origins(given: tuple[int, ...], serials: Iterator[int]) -> tuple[Origin, ...]:
    """Each stored rule's origin, from the version at which each rule was given: the rules
    given together count as ``s<version>:<place among them>``."""
    serial_of: dict[int, int] = {}
    places: Counter[int] = Counter()
    found = []
    for generation in given:
        serial = serial_of.setdefault(generation, next(serials))
        found.append(Origin(serial, f"s{generation}", places[generation]))
        places[generation] += 1
    return tuple(found)


def stored_rule_sets(
    stored: StoredScripts, config: RuleSet, serials: Iterator[int]
) -> tuple[RuleSet | None, dict[Scope, RuleSet]]:
    """The global script (None: the TOML's rules answer) and the scoped ones."""
    script: RuleSet | None = None
    scoped: dict[Scope, RuleSet] = {}
    for item in sorted(stored.sets, key=lambda item: item.generation):
        try:
            rules = rules_from_list(list(item.raw_rules), needs_default=False)
        except ConfigError as error:  # checked when pushed: only a foreign writer gets here
            log.error("a shared script is unreadable, left out: %s", error)
            continue
        label = "script" if item.scope is None else f"script[{item.scope.label()}]"
        rule_set = RuleSet(label, rules, stored_origins(item.given, serials))
        if item.scope is None:
            if item.then_config:
                origins = rule_set.origins + config.origins
                rule_set = RuleSet(label, rules + config.rules, origins)
            script = rule_set
        else:
            scoped[item.scope] = rule_set
    return script, scoped

"""The rules in force: the TOML's, a script set at run time, scoped scripts, and their counts.

One :class:`RuleBook` per app. ``choose`` tries the scripts scoped to the request first (by
header value, then API key, then user), then the global script (the TOML's rules unless a
script replaced them). A rule with ``times`` or a ``sequence`` answers that many times, then
the next matching rule does. ``[chaos]`` draws a fault for a request whose rule has none.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from ..settings.answers import AnswerRule, Conversation
from ..settings.faults import ChaosSettings, Fault
from ..settings.scripts import SCOPE_ORDER, Scope
from .journal import note_rule

log = logging.getLogger("quart_qa.rules")


@dataclass
class RequestFacts:
    """What a scope can match in the request being answered."""

    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    user: str | None = None
    key: str | None = None
    # The rule this request was given: a request that a fast path hands on to Quart is
    # answered by the same rule, not by the next use of a rule with ``times``.
    choice: Choice | None = None

    def within(self, scope: Scope) -> bool:
        """True when the request is one ``scope`` covers."""
        return scope.applies(self.headers, self.key, self.user)


CURRENT_FACTS: ContextVar[RequestFacts | None] = ContextVar("quart_qa_request_facts", default=None)


def note_user(user: str) -> None:
    """The current request turned out to be ``user``'s (an API token's user)."""
    facts = CURRENT_FACTS.get()
    if facts is not None:
        facts.user = user


@dataclass(frozen=True)
class RuleSet:
    """Rules from one source, with the serial their use counts are kept under."""

    label: str
    rules: tuple[AnswerRule, ...]
    serial: int


@dataclass(frozen=True)
class Choice:
    """The rule (or sequence step) that answers, and where it comes from."""

    rule: AnswerRule
    label: str


class RuleBook:
    """The rules one app answers with; swapped and scripted while it runs."""

    def __init__(self, config_rules: tuple[AnswerRule, ...], chaos: ChaosSettings) -> None:
        self._serials = itertools.count()
        self._config = self._set("config", config_rules)
        self._script: RuleSet | None = None
        self._scoped: dict[Scope, RuleSet] = {}
        self._uses: Counter[tuple[int, int]] = Counter()
        self._chaos = chaos
        self._odds = chaos.odds()
        self._rng = random.Random(chaos.seed)

    def _set(self, label: str, rules: tuple[AnswerRule, ...]) -> RuleSet:
        return RuleSet(label, rules, next(self._serials))

    # -- choosing -----------------------------------------------------------------------

    def _candidates(self, facts: RequestFacts | None) -> Iterator[RuleSet]:
        if facts is not None and self._scoped:
            for kind in SCOPE_ORDER:
                for scope, rule_set in self._scoped.items():
                    if scope.kind == kind and facts.within(scope):
                        yield rule_set
        yield self._script or self._config

    def choose(
        self,
        conversation: Conversation | str,
        facts: RequestFacts | None = None,
        *,
        count: bool = True,
    ) -> Choice:
        """The rule that answers ``conversation`` (a plain question for the chat page); counts
        a use of a rule with ``times`` or a ``sequence``.

        ``count=False`` looks the rule up again without using it up (and draws no chaos).
        """
        if isinstance(conversation, str):
            conversation = Conversation(question=conversation)
        if facts is None:
            facts = CURRENT_FACTS.get()
        if count and facts is not None and facts.choice is not None:
            return self._noted(facts.choice)
        choice = self._choose(conversation, facts, count)
        if count and facts is not None:
            facts.choice = choice
        return self._noted(choice) if count else choice

    def _choose(
        self, conversation: Conversation, facts: RequestFacts | None, count: bool
    ) -> Choice:
        for rule_set in self._candidates(facts):
            for index, rule in enumerate(rule_set.rules):
                if not rule.matches(conversation):
                    continue
                key = (rule_set.serial, index)
                used = self._uses[key]
                limit = rule.uses_allowed
                if not count:
                    return Choice(rule.answer_for(max(0, used - 1)), rule_set.label)
                if limit is not None and used >= limit:
                    continue
                self._uses[key] = used + 1
                step = rule.answer_for(used)
                label = f"{rule_set.label} answers[{index}]"
                if limit is not None:
                    label += f" ({used + 1}/{limit})"
                return self._with_chaos(Choice(step, label))
        # The global set ends with a default rule that has no limit, so this is unreachable.
        rules = (self._script or self._config).rules
        return Choice(rules[-1], "default")

    @staticmethod
    def _noted(choice: Choice) -> Choice:
        fault = choice.rule.fault
        note_rule(choice.label, fault.describe() if fault else None)
        return choice

    def _with_chaos(self, choice: Choice) -> Choice:
        odds = self._odds
        if not odds or choice.rule.fault is not None:
            return choice
        draw = self._rng.random()
        for kind, chance in odds:
            if draw < chance:
                fault = Fault(
                    kind,
                    after=self._rng.randint(0, len(choice.rule.parts)),
                    retry_after=self._chaos.retry_after,
                    seconds=self._chaos.stall_seconds,
                )
                return Choice(replace(choice.rule, fault=fault), f"{choice.label} + chaos")
            draw -= chance
        return choice

    # -- scripting ----------------------------------------------------------------------

    def replace(self, scope: Scope | None, rules: tuple[AnswerRule, ...]) -> None:
        """Answer with ``rules`` instead (globally, or for requests in ``scope``)."""
        if scope is None:
            self._script = self._set("script", rules)
        else:
            self._scoped[scope] = self._set(f"script[{scope.label()}]", rules)

    def add(self, scope: Scope | None, rules: tuple[AnswerRule, ...]) -> None:
        """Put ``rules`` ahead of the ones in force (globally, or in ``scope``)."""
        if scope is None:
            current = self._script or self._config
            self._script = self._set("script", rules + current.rules)
        else:
            existing = self._scoped.get(scope)
            before = existing.rules if existing else ()
            self._scoped[scope] = self._set(f"script[{scope.label()}]", rules + before)

    def reset(self, scope: Scope | None = None) -> None:
        """Back to the TOML's rules (everything), or drop one scope's script."""
        if scope is not None:
            self._scoped.pop(scope, None)
            return
        self._script = None
        self._scoped.clear()
        self._uses.clear()
        self._config = self._set("config", self._config.rules)
        self._rng = random.Random(self._chaos.seed)

    def reload(self, config_rules: tuple[AnswerRule, ...], chaos: ChaosSettings) -> None:
        """New TOML rules (hot reload): new answers use them, running ones finish as they were."""
        self._config = self._set("config", config_rules)
        self._chaos = chaos
        self._odds = chaos.odds()
        self._rng = random.Random(chaos.seed)

    def describe(self) -> dict[str, object]:
        """The rules in force, one line each (``GET /_qa/script``)."""
        return {
            "config": [rule.describe() for rule in self._config.rules],
            "script": None if self._script is None else [r.describe() for r in self._script.rules],
            "scoped": [
                {"scope": scope.label(), "rules": [rule.describe() for rule in rule_set.rules]}
                for scope, rule_set in self._scoped.items()
            ],
        }

"""The rules in force: the TOML's, a script set at run time, scoped scripts, and their counts.

One :class:`RuleBook` per app. ``choose`` tries the scripts scoped to the request first (by
header value, then API key, then user), then the global script (the TOML's rules unless a
script replaced them). A rule with ``times`` or a ``sequence`` answers that many times, then
the next matching rule does. ``[chaos]`` draws a fault for a request whose rule has none.

With a shared store (the Redis broker with ``[admin]`` on, :meth:`RuleBook.share`), scripts
and use counts live in the store and every node answers alike: :meth:`RuleBook.choose_shared`
checks the store's version first (one read; a reload when it moved), and counts a use of a
rule with a limit with one atomic call. Without a store, :meth:`RuleBook.choose` stays a
plain in-process lookup. Chaos draws stay per node (each seeded alike).

A rule's use count follows the rule (:mod:`.rule_sets`): adding rules ahead leaves the counts
of the rules in force alone. The request's facts are in :mod:`.request_facts`, the chaos
draws in :mod:`.chaos`, the shared store's scripts read back in :mod:`.stored_rules`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import Iterator

from ..settings.answers import AnswerRule, Conversation
from ..settings.faults import ChaosSettings
from ..settings.scripts import SCOPE_ORDER, Scope, Script, ScriptMode
from .chaos import ChaosDraws
from .journal import note_rule
from .refusals import BrokerUnavailable
from .request_facts import CURRENT_FACTS, RequestFacts
from .rule_sets import Choice, RuleSet, content_key, counted, origins
from .shared_rules import RuleStore, StoredScripts
from .stored_rules import stored_rule_sets

log = logging.getLogger("quart_qa.rules")


class RuleBook:
    """The rules one app answers with; swapped and scripted while it runs."""

    def __init__(self, config_rules: tuple[AnswerRule, ...], chaos: ChaosSettings) -> None:
        self._serials = itertools.count()
        self._config = self._config_set(config_rules)
        self._script: RuleSet | None = None
        self._scoped: dict[Scope, RuleSet] = {}
        self._uses: Counter[tuple[int, int]] = Counter()
        self._chaos = ChaosDraws(chaos)
        self._store: RuleStore | None = None
        self._version: int | None = None  # of the store, when its scripts were last loaded

    def _set(self, label: str, rules: tuple[AnswerRule, ...], key: str = "") -> RuleSet:
        """A set of rules given together (their use counts start from zero)."""
        return RuleSet(label, rules, origins(next(self._serials), key, len(rules)))

    def _ahead(self, label: str, rules: tuple[AnswerRule, ...], rest: RuleSet | None) -> RuleSet:
        """``rules`` (counted from zero) ahead of ``rest``'s, whose counts go on."""
        added = self._set(label, rules)
        if rest is None:
            return added
        return RuleSet(label, rules + rest.rules, added.origins + rest.origins)

    def _config_set(self, rules: tuple[AnswerRule, ...]) -> RuleSet:
        return self._set("config", rules, content_key(rules))

    @property
    def shared(self) -> bool:
        """True when scripts and use counts live in a store every node shares."""
        return self._store is not None

    def share(self, store: RuleStore) -> None:
        """Keep scripts and use counts in ``store`` from now on (before serving)."""
        self._store = store
        self._version = None

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
        conversation, facts = _resolved(conversation, facts)
        if count and facts is not None and facts.choice is not None:
            return self._noted(facts.choice)
        return self._decided(self._choose(conversation, facts, count), facts, count)

    def _decided(self, choice: Choice, facts: RequestFacts | None, count: bool) -> Choice:
        if count and facts is not None:
            facts.choice = choice
        return self._noted(choice) if count else choice

    def _matching(
        self, conversation: Conversation, facts: RequestFacts | None
    ) -> Iterator[tuple[RuleSet, int, AnswerRule]]:
        for rule_set in self._candidates(facts):
            for index, rule in enumerate(rule_set.rules):
                if rule.matches(conversation):
                    yield rule_set, index, rule

    def _choose(
        self, conversation: Conversation, facts: RequestFacts | None, count: bool
    ) -> Choice:
        for rule_set, index, rule in self._matching(conversation, facts):
            key = rule_set.local_key(index)
            used = self._uses[key]
            limit = rule.uses_allowed
            if not count:
                return Choice(rule.answer_for(max(0, used - 1)), rule_set.label)
            if limit is not None and used >= limit:
                continue
            self._uses[key] = used + 1
            return self._chaos.applied(counted(rule_set, index, rule, used))
        return self._fallback()

    def _fallback(self) -> Choice:
        # The global set ends with a default rule that has no limit, so this is unreachable.
        rules = (self._script or self._config).rules
        return Choice(rules[-1], "default")

    async def choose_shared(
        self,
        conversation: Conversation | str,
        facts: RequestFacts | None = None,
        *,
        count: bool = True,
    ) -> Choice:
        """:meth:`choose`, with scripts and use counts from the shared store when there is
        one: the rules any node was given before this call, counted across nodes. While the
        store cannot be reached, the last rules loaded answer, counted in this process."""
        store = self._store
        if store is None:
            return self.choose(conversation, facts, count=count)
        conversation, facts = _resolved(conversation, facts)
        if count and facts is not None and facts.choice is not None:
            return self._noted(facts.choice)
        with _quietly("loading the shared scripts"):
            await self.refresh()
        choice = await self._choose_counted(store, conversation, facts, count)
        return self._decided(choice, facts, count)

    async def _choose_counted(
        self, store: RuleStore, conversation: Conversation, facts: RequestFacts | None, count: bool
    ) -> Choice:
        matching: list[tuple[RuleSet, int, AnswerRule]] = []
        for found in self._matching(conversation, facts):
            matching.append(found)
            if found[2].uses_allowed is None:
                break  # it always answers: the rules after it never do
        rule_set, index, rule = matching[0]
        if not count:
            used = 0
            if rule.uses_allowed is not None:
                used = self._uses[rule_set.local_key(index)]
                with _quietly("reading a use count"):
                    used = await store.uses(rule_set.count_key(index))
            return Choice(rule.answer_for(max(0, used - 1)), rule_set.label)
        if rule.uses_allowed is None:
            return self._chaos.applied(counted(rule_set, index, rule, 0))
        limits = [(rs.count_key(i), r.uses_allowed or 0) for rs, i, r in matching]
        try:
            position, used = await store.use(limits)
        except BrokerUnavailable:
            log.warning("shared use counts unavailable: counting in this process meanwhile")
            return self._choose(conversation, facts, count)
        if position < 0:
            return self._fallback()
        rule_set, index, rule = matching[position]
        return self._chaos.applied(counted(rule_set, index, rule, max(used, 0)))

    @staticmethod
    def _noted(choice: Choice) -> Choice:
        fault = choice.rule.fault
        note_rule(choice.label, fault.describe() if fault else None)
        return choice

    # -- scripting ----------------------------------------------------------------------

    def replace(self, scope: Scope | None, rules: tuple[AnswerRule, ...]) -> None:
        """Answer with ``rules`` instead (globally, or for requests in ``scope``)."""
        if scope is None:
            self._script = self._set("script", rules)
        else:
            self._scoped[scope] = self._set(f"script[{scope.label()}]", rules)

    def add(self, scope: Scope | None, rules: tuple[AnswerRule, ...]) -> None:
        """Put ``rules`` ahead of the ones in force (globally, or in ``scope``); the rules
        already in force keep their use counts."""
        if scope is None:
            self._script = self._ahead("script", rules, self._script or self._config)
        else:
            label = f"script[{scope.label()}]"
            self._scoped[scope] = self._ahead(label, rules, self._scoped.get(scope))

    def reset(self, scope: Scope | None = None) -> None:
        """Back to the TOML's rules (everything), or drop one scope's script."""
        if scope is not None:
            self._scoped.pop(scope, None)
            return
        self._script = None
        self._scoped.clear()
        self._uses.clear()
        self._config = self._config_set(self._config.rules)
        self._chaos.reseed()

    # -- scripting through the shared store (the admin API's entry points) ---------------

    async def apply(self, script: Script, mode: ScriptMode) -> None:
        """Replace or add to the rules of ``script.scope``: in the shared store when there is
        one (every node answers with them from its next choice on), else here."""
        if self._store is None:
            if mode == "replace":
                self.replace(script.scope, script.rules)
            else:
                self.add(script.scope, script.rules)
            return
        await self._store.save(script.scope, script.raw, mode)
        await self.refresh()

    async def clear(self, scope: Scope | None = None) -> None:
        """:meth:`reset`, on every node when the store is shared (counts from zero)."""
        if self._store is None:
            self.reset(scope)
            return
        await self._store.reset(scope)
        if scope is None:
            self.reset()
        await self.refresh()

    async def refresh(self) -> None:
        """Catch up with the shared store: one read of its version, a reload when it moved.
        Raises :class:`BrokerUnavailable` when the store cannot be reached."""
        store = self._store
        if store is None:
            return
        version = await store.version()
        if version != self._version:
            self._install(await store.load())

    def _install(self, stored: StoredScripts) -> None:
        self._script, self._scoped = stored_rule_sets(stored, self._config, self._serials)
        self._version = stored.version

    def reload(self, config_rules: tuple[AnswerRule, ...], chaos: ChaosSettings) -> None:
        """New TOML rules (hot reload): new answers use them, running ones finish as they were."""
        self._config = self._config_set(config_rules)
        self._chaos = ChaosDraws(chaos)

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


def _resolved(
    conversation: Conversation | str, facts: RequestFacts | None
) -> tuple[Conversation, RequestFacts | None]:
    """A plain question as a conversation; the current request's facts unless given."""
    if isinstance(conversation, str):
        conversation = Conversation(question=conversation)
    return conversation, CURRENT_FACTS.get() if facts is None else facts


@contextlib.contextmanager
def _quietly(doing: str) -> Iterator[None]:
    """Go on with what this node knows while the shared store is away."""
    try:
        yield
    except BrokerUnavailable:
        log.warning("shared store unavailable while %s: answering with the last rules known", doing)

"""``[chaos]``: a fault drawn, at the configured odds and seed, for a rule that has none."""

from __future__ import annotations

import random
from dataclasses import replace

from ..settings.faults import ChaosSettings, Fault
from .rule_sets import Choice


class ChaosDraws:
    """The seeded draws of one app (each node seeded alike)."""

    def __init__(self, chaos: ChaosSettings) -> None:
        self._chaos = chaos
        self._odds = chaos.odds()
        self._rng = random.Random(chaos.seed)

    def reseed(self) -> None:
        """Start the draws again from the seed."""
        self._rng = random.Random(self._chaos.seed)

    def applied(self, choice: Choice) -> Choice:
        """``choice``, or ``choice`` with a drawn fault (never over a scripted one)."""
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

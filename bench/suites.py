"""What ``python -m bench`` runs: the chat-page cases, then the API cases."""

from __future__ import annotations

from . import scenarios
from .api_scenarios import api_full_suite, api_quick_suite
from .scenarios import Scenario


def full_suite() -> list[Scenario]:
    """Every case of a full run."""
    return [*scenarios.full_suite(), *api_full_suite()]


def quick_suite() -> list[Scenario]:
    """Small, fast cases for ``--quick`` (a smoke test of the harness, not a measurement)."""
    return [*scenarios.quick_suite(), *api_quick_suite()]


def select(scenarios: list[Scenario], only: str | None) -> list[Scenario]:
    """The cases whose name contains ``only`` (or one of its comma-separated parts)."""
    if not only:
        return scenarios
    wanted = [part.strip() for part in only.split(",") if part.strip()]
    return [scenario for scenario in scenarios if any(part in scenario.case for part in wanted)]

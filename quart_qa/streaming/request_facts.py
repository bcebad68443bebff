"""What a scoped script can match in the request being answered, set per request."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field

from ..settings.scripts import Scope
from .rule_sets import Choice


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

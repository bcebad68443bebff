"""Scripted faults in the answering core: the refusal before the stream, in generic words.

A status fault (``rate_limit``, ``server_error``, ``overloaded``, ``context_length``) is a
:class:`ScriptedFault` refusal raised when the rule is chosen, before anything is sent;
the chat page's web layer and each dialect turn it into their own status and error body
(Anthropic answers ``overloaded`` with 529, OpenAI with 503). :data:`GENERIC` is what a
dialect that has no words of its own sends. Stream faults are played by the core itself
(:func:`quart_qa.streaming.playback.play`, the chat page's answer runner).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..settings.answers import AnswerRule
from ..settings.faults import Fault
from .refusals import Refused


@dataclass(frozen=True)
class FaultStatus:
    """A status fault as an HTTP status, an error code and a message."""

    status: int
    code: str
    message: str


GENERIC: dict[str, FaultStatus] = {
    "rate_limit": FaultStatus(429, "rate_limit_exceeded", "Rate limit reached; try again later."),
    "server_error": FaultStatus(500, "server_error", "The server had an error (scripted)."),
    "overloaded": FaultStatus(503, "overloaded", "The server is overloaded; try again later."),
    "context_length": FaultStatus(
        400, "context_length_exceeded", "The conversation is longer than the model's context."
    ),
}


class ScriptedFault(Refused):
    """The rule that answers this request refuses it with a status fault."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.message or GENERIC[fault.kind].message)
        self.fault = fault

    @property
    def kind(self) -> str:
        """The fault's kind (``rate_limit``, ``overloaded``, ...)."""
        return self.fault.kind

    def message_or(self, default: str) -> str:
        """The rule's own message, else the dialect's ``default``."""
        return self.fault.message or default

    def headers(self) -> dict[str, str]:
        """``Retry-After`` (whole seconds) and ``retry-after-ms`` for a fault that has them."""
        if self.fault.kind not in ("rate_limit", "overloaded"):
            return {}
        seconds = self.fault.retry_after
        return {
            "Retry-After": str(math.ceil(seconds)),
            "retry-after-ms": str(round(seconds * 1000)),
        }

    def generic(self) -> FaultStatus:
        """Status, code and message for a dialect with no words of its own."""
        words = GENERIC[self.fault.kind]
        return FaultStatus(words.status, words.code, self.message_or(words.message))


def refuse_if_scripted(rule: AnswerRule) -> None:
    """Raise :class:`ScriptedFault` when ``rule`` refuses before the stream."""
    if rule.fault is not None and rule.fault.before_stream:
        raise ScriptedFault(rule.fault)


def stream_fault(rule: AnswerRule) -> Fault | None:
    """The fault ``rule`` plays during its stream, if any."""
    fault = rule.fault
    return None if fault is None or fault.before_stream else fault

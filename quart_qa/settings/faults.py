"""Scripted faults: how a rule (or ``[chaos]``) makes the simulated model fail.

A fault is either a refusal before the stream (an HTTP status in each dialect's own error
shape) or something that happens to the stream after ``after`` chunks. Parsing only: the
answering core applies them (:mod:`quart_qa.streaming.faults`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .errors import ConfigError

StatusFaultKind = Literal["rate_limit", "server_error", "overloaded", "context_length"]
StreamFaultKind = Literal["stall", "disconnect", "truncate", "malformed"]
FaultKind = Literal[StatusFaultKind, StreamFaultKind]
STATUS_FAULTS: tuple[str, ...] = get_args(StatusFaultKind)
STREAM_FAULTS: tuple[str, ...] = get_args(StreamFaultKind)
FAULT_KINDS: tuple[str, ...] = STATUS_FAULTS + STREAM_FAULTS
DEFAULT_RETRY_AFTER = 1.0
DEFAULT_STALL = 5.0

_KEYS: dict[str, frozenset[str]] = {
    "rate_limit": frozenset({"kind", "retry_after", "message"}),
    "overloaded": frozenset({"kind", "retry_after", "message"}),
    "server_error": frozenset({"kind", "message"}),
    "context_length": frozenset({"kind", "message"}),
    "stall": frozenset({"kind", "after", "seconds"}),
    "disconnect": frozenset({"kind", "after"}),
    "truncate": frozenset({"kind", "after"}),
    "malformed": frozenset({"kind", "after"}),
}


@dataclass(frozen=True)
class Fault:
    """One scripted failure.

    ``after``: chunks sent before a stream fault strikes (tokens for ``truncate``);
    ``retry_after``: the ``Retry-After`` seconds of ``rate_limit`` and ``overloaded``;
    ``seconds``: how long a ``stall`` stays silent; ``message``: a status fault's own text.
    """

    kind: FaultKind
    after: int = 0
    retry_after: float = DEFAULT_RETRY_AFTER
    seconds: float = DEFAULT_STALL
    message: str | None = None

    @property
    def before_stream(self) -> bool:
        """True for the faults that refuse the request with an HTTP status."""
        return self.kind in STATUS_FAULTS

    def describe(self) -> str:
        """A few words for ``check-config`` and the journal."""
        if self.kind in ("rate_limit", "overloaded"):
            return f"{self.kind} (retry after {self.retry_after:g}s)"
        if self.before_stream:
            return self.kind
        if self.kind == "stall":
            return f"stall {self.seconds:g}s after {self.after} chunk(s)"
        unit = "token(s)" if self.kind == "truncate" else "chunk(s)"
        return f"{self.kind} after {self.after} {unit}"


def _seconds(raw: Mapping[str, object], key: str, where: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key}", f"must be a finite number, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}.{key}", f"must be >= 0, got {value!r}")
    return float(value)


def fault_from_mapping(raw: object, where: str) -> Fault:
    """Validate a rule's ``fault``: a kind name, or a table with ``kind`` and its options."""
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a fault name or a table, got {raw!r}")
    kind = raw.get("kind")
    if kind not in FAULT_KINDS:
        raise ConfigError(f"{where}.kind", f"must be one of {FAULT_KINDS}, got {kind!r}")
    allowed = _KEYS[kind]
    for key in raw:
        if key not in allowed:
            raise ConfigError(
                f"{where}.{key}", f"does not apply to a {kind!r} fault (keys: {sorted(allowed)})"
            )
    after = raw.get("after", 0)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ConfigError(f"{where}.after", f"must be an integer >= 0, got {after!r}")
    message = raw.get("message")
    if message is not None and (not isinstance(message, str) or not message):
        raise ConfigError(f"{where}.message", f"must be a non-empty string, got {message!r}")
    return Fault(
        kind=kind,
        after=after,
        retry_after=_seconds(raw, "retry_after", where, DEFAULT_RETRY_AFTER),
        seconds=_seconds(raw, "seconds", where, DEFAULT_STALL),
        message=message,
    )


@dataclass(frozen=True)
class ChaosSettings:
    """``[chaos]``: each fault's probability on every request that no rule scripts a fault for.

    Draws come from ``random.Random(seed)``, so a seeded run fails the same requests again.
    A stream fault strikes after a chunk count drawn between 0 and the answer's length.
    """

    seed: int | None = None
    rate_limit: float = 0.0
    server_error: float = 0.0
    overloaded: float = 0.0
    context_length: float = 0.0
    stall: float = 0.0
    disconnect: float = 0.0
    truncate: float = 0.0
    malformed: float = 0.0
    retry_after: float = DEFAULT_RETRY_AFTER
    stall_seconds: float = DEFAULT_STALL

    def odds(self) -> tuple[tuple[FaultKind, float], ...]:
        """Each fault kind with a probability above zero."""
        return tuple((kind, getattr(self, kind)) for kind in FAULT_KINDS if getattr(self, kind) > 0)  # type: ignore[misc]

    @property
    def enabled(self) -> bool:
        """True when any fault has a probability."""
        return bool(self.odds())


def chaos_from_mapping(raw: object, where: str = "chaos") -> ChaosSettings:
    """Validate ``[chaos]``: probabilities in [0, 1] adding up to at most 1."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a table, got {raw!r}")
    known = {"seed", "retry_after", "stall_seconds", *FAULT_KINDS}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{where}.{key}", f"unknown key (known keys: {sorted(known)})")
        if key == "seed":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{where}.seed", f"must be an integer, got {value!r}")
            values[key] = value
            continue
        number = _seconds(raw, key, where, 0.0)
        if key in FAULT_KINDS and number > 1:
            raise ConfigError(f"{where}.{key}", f"is a probability: 0 to 1, got {value!r}")
        values[key] = number
    total = sum(float(values.get(kind, 0.0)) for kind in FAULT_KINDS)
    if total > 1:
        raise ConfigError(where, f"the fault probabilities add up to {total:g}; at most 1")
    return ChaosSettings(**values)

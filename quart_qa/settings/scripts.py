"""Scripts set at run time (``/_qa/script``): rules plus the requests they are scoped to.

The rules are checked by the very functions that check ``[[answers]]`` in the TOML, so a
script accepts every rule shape the file does and fails with the same one-line errors.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .answer_parsing import rules_from_list
from .answers import AnswerRule
from .errors import ConfigError

ScopeKind = Literal["header", "key", "user"]
SCOPE_ORDER: tuple[ScopeKind, ...] = ("header", "key", "user")
SCENARIO_HEADER = "x-qa-scenario"
SCRIPT_SOURCE = "script"
ScriptMode = Literal["replace", "add"]


@dataclass(frozen=True)
class Scope:
    """Which requests a script applies to: a header's value, an API key or a user id."""

    kind: ScopeKind
    value: str
    header: str = ""  # lower-case, for kind "header"

    def applies(self, headers: Mapping[str, str], key: str | None, user: str | None) -> bool:
        """True when the request carries this scope's value (``headers``: lower-case names)."""
        if self.kind == "header":
            return headers.get(self.header) == self.value
        if self.kind == "key":
            return key == self.value
        return user == self.value

    def label(self) -> str:
        """``header x-qa-scenario=t1``, ``key sk-1``, ``user u1``."""
        if self.kind == "header":
            return f"header {self.header}={self.value}"
        return f"{self.kind} {self.value}"


@dataclass(frozen=True)
class Script:
    """A checked script: its rules, its scope (None: every request), and the rules as given
    (what a shared store keeps, for each node to read again)."""

    rules: tuple[AnswerRule, ...]
    scope: Scope | None
    raw: tuple[object, ...] = ()


def _text(raw: Mapping[str, object], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}", f"must be a non-empty string, got {value!r}")
    return value


def scope_from_mapping(raw: object, where: str = "scope") -> Scope:
    """``{"user": id}``, ``{"key": api_key}``, ``{"scenario": value}`` (the ``X-QA-Scenario``
    header) or ``{"header": name, "value": value}``."""
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a table, got {raw!r}")
    keys = set(raw)
    if keys == {"user"}:
        return Scope("user", _text(raw, "user", where))
    if keys == {"key"}:
        return Scope("key", _text(raw, "key", where))
    if keys == {"scenario"}:
        return Scope("header", _text(raw, "scenario", where), SCENARIO_HEADER)
    if keys == {"header", "value"}:
        return Scope("header", _text(raw, "value", where), _text(raw, "header", where).lower())
    raise ConfigError(
        where,
        'must be one of {"user": ...}, {"key": ...}, {"scenario": ...} or '
        f'{{"header": ..., "value": ...}}, got keys {sorted(keys)}',
    )


def script_from_mapping(data: Mapping[str, object], mode: ScriptMode) -> Script:
    """Check ``{"answers": [...], "scope": {...}}``; raise :class:`ConfigError` naming the
    key. Replacing every request's rules needs a default rule, as the TOML does."""
    try:
        for key in data:
            if key not in ("answers", "scope"):
                raise ConfigError(key, "unknown key (known keys: answers, scope)")
        scope = scope_from_mapping(data["scope"]) if "scope" in data else None
        if "answers" not in data:
            raise ConfigError("answers", "is missing: give the rules as [[answers]] tables")
        needs_default = scope is None and mode == "replace"
        raw = data["answers"]
        rules = rules_from_list(raw, needs_default=needs_default)
    except ConfigError as error:
        raise error.with_source(SCRIPT_SOURCE) from None
    return Script(rules, scope, tuple(raw) if isinstance(raw, list) else ())


def script_from_toml(text: str, mode: ScriptMode) -> Script:
    """A script written as TOML (``[[answers]]`` tables, an optional ``[scope]`` table)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"TOML syntax error: {error}", source=SCRIPT_SOURCE) from None
    return script_from_mapping(data, mode)

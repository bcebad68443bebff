"""Model presets: the ``[models]`` table, one named model each, optionally with its own pace.

``[models]`` holds one sub-table per model name::

    [models.fast-model]
    ttft = 0.05
    tokens_per_second = 200

    [models."slow-model-1.0"]
    ttft = 1.5
    tokens_per_second = 8
    jitter = 0.3
    seed = 42

Without ``[models]`` the LLM APIs accept any model name and list :data:`DEFAULT_MODEL`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigError

DeltaMode = Literal["token", "part"]
DELTA_MODES: tuple[DeltaMode, ...] = ("token", "part")
DEFAULT_MODEL = "quart-qa-1"
MAX_NAME_CHARS = 256

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_NAME = re.compile(r"[^\s\x00-\x1f\x7f]+")
_PRESET_KEYS = ("deltas", "jitter", "seed", "tokens_per_second", "ttft")


@dataclass(frozen=True)
class ModelPreset:
    """One model the LLM APIs serve; unset pace values fall back to ``[stream]``."""

    name: str
    ttft: float | None = None
    tokens_per_second: float | None = None
    jitter: float = 0.0
    seed: int | None = None
    deltas: DeltaMode = "token"

    def describe(self) -> str:
        """One line for logs and ``check-config``."""
        pace = []
        if self.ttft is not None:
            pace.append(f"ttft {self.ttft:g}s")
        if self.tokens_per_second is not None:
            pace.append(f"{self.tokens_per_second:g} tokens/s")
        if self.jitter:
            seed = "" if self.seed is None else f", seed {self.seed}"
            pace.append(f"jitter ±{self.jitter:.0%}{seed}")
        pace.append(f"deltas by {self.deltas}")
        return f"{self.name}: {', '.join(pace)}"


def _where(name: str) -> str:
    return f"models.{name}" if _BARE_KEY.fullmatch(name) else f'models."{name}"'


def _describe(value: object) -> str:
    return f"{type(value).__name__} {value!r}"


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(where, f"must be a number, got {_describe(value)}")
    if not math.isfinite(value):  # TOML spells inf and nan; no pace means them
        raise ConfigError(where, f"must be a finite number, got {value!r}")
    return float(value)


def preset_from_mapping(name: str, raw: object) -> ModelPreset:
    """Validate one ``[models.<name>]`` table."""
    where = _where(name)
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME_CHARS:
        raise ConfigError(
            where, f"a model name must be 1-{MAX_NAME_CHARS} characters without spaces"
        )
    if not isinstance(raw, Mapping):
        raise ConfigError(where, f"must be a table ([{where}]), got {_describe(raw)}")
    for key in raw:
        if key not in _PRESET_KEYS:
            raise ConfigError(
                f"{where}.{key}", f"unknown key (known keys: {', '.join(_PRESET_KEYS)})"
            )
    ttft = tokens_per_second = None
    jitter = 0.0
    seed = None
    deltas: DeltaMode = "token"
    if "ttft" in raw:
        ttft = _number(raw["ttft"], f"{where}.ttft")
        if ttft < 0:
            raise ConfigError(f"{where}.ttft", f"must be >= 0, got {raw['ttft']!r}")
    if "tokens_per_second" in raw:
        tokens_per_second = _number(raw["tokens_per_second"], f"{where}.tokens_per_second")
        if tokens_per_second <= 0:
            raise ConfigError(
                f"{where}.tokens_per_second", f"must be > 0, got {raw['tokens_per_second']!r}"
            )
    if "jitter" in raw:
        jitter = _number(raw["jitter"], f"{where}.jitter")
        if not 0 <= jitter <= 1:
            raise ConfigError(
                f"{where}.jitter", f"must be between 0 and 1 (a fraction), got {raw['jitter']!r}"
            )
    if "seed" in raw:
        value = raw["seed"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}.seed", f"must be an integer, got {_describe(value)}")
        seed = value
    if "deltas" in raw:
        value = raw["deltas"]
        if value == "token":
            deltas = "token"
        elif value == "part":
            deltas = "part"
        else:
            raise ConfigError(f"{where}.deltas", f"must be one of 'token', 'part', got {value!r}")
    return ModelPreset(
        name=name,
        ttft=ttft,
        tokens_per_second=tokens_per_second,
        jitter=jitter,
        seed=seed,
        deltas=deltas,
    )


def models_from_mapping(raw: object) -> tuple[ModelPreset, ...]:
    """Validate ``[models]``: a table of model tables, at least one."""
    if not isinstance(raw, Mapping):
        raise ConfigError("models", f"must be a table of [models.<name>] tables, got {raw!r}")
    if not raw:
        raise ConfigError(
            "models", "names no model: add a [models.<name>] table, or drop [models] to accept any"
        )
    return tuple(preset_from_mapping(str(name), value) for name, value in raw.items())


def find_model(presets: Sequence[ModelPreset], name: str) -> ModelPreset | None:
    """The preset called ``name``; without presets any name is served at the ``[stream]`` pace."""
    if not presets:
        return ModelPreset(name=name)
    for preset in presets:
        if preset.name == name:
            return preset
    return None


def listed_models(presets: Sequence[ModelPreset]) -> tuple[ModelPreset, ...]:
    """The models ``GET /v1/models`` lists."""
    return tuple(presets) or (ModelPreset(name=DEFAULT_MODEL),)

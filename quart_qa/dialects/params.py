"""Reading one parameter of a request body: its JSON type checked, ``null`` taken as absent,
every error naming the parameter the way the real APIs do (``messages[2].content``).

Bodies are checked by hand rather than by a schema for exactly those error messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..settings.model_presets import MAX_NAME_CHARS as MAX_MODEL_CHARS
from .api_errors import invalid_type, invalid_value, missing


def get_string(body: Mapping[str, Any], key: str) -> str | None:
    """A string parameter (``null`` counts as absent)."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(key, "a string", value)
    return value


def get_int(body: Mapping[str, Any], key: str, *, minimum: int) -> int | None:
    """An integer parameter of at least ``minimum`` (``null`` counts as absent)."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_type(key, "an integer", value)
    if value < minimum:
        raise invalid_value(key, f"must be at least {minimum}, got {value}.")
    return value


def get_model(body: Mapping[str, Any]) -> str:
    """``model``: a required, non-empty name of at most :data:`MAX_MODEL_CHARS` characters."""
    model = get_string(body, "model")
    if model is None:
        raise missing("model")
    if not model or len(model) > MAX_MODEL_CHARS:
        raise invalid_value("model", f"must be 1-{MAX_MODEL_CHARS} characters.")
    return model


def get_bool(body: Mapping[str, Any], key: str) -> bool:
    """A boolean parameter; absent or ``null`` is False."""
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_type(key, "a boolean", value)
    return value


def get_strings(value: object, param: str, *, max_items: int | None = None) -> tuple[str, ...]:
    """A string or an array of strings (``stop``, ``stop_sequences``)."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise invalid_type(param, "a string or an array of strings", value)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise invalid_type(f"{param}[{index}]", "a string", item)
    if max_items is not None and len(value) > max_items:
        raise invalid_value(param, f"at most {max_items} sequences, got {len(value)}.")
    return tuple(value)


def _optional(body: Mapping[str, Any], key: str, kind: type, name: str, param: str | None) -> Any:
    value = body.get(key)
    if value is not None and not isinstance(value, kind):
        raise invalid_type(param or key, name, value)
    return value


def get_object(
    body: Mapping[str, Any], key: str, param: str | None = None
) -> dict[str, Any] | None:
    """An object parameter (``null`` counts as absent); ``param`` names it in errors."""
    value: dict[str, Any] | None = _optional(body, key, dict, "an object", param)
    return value


def get_array(body: Mapping[str, Any], key: str, param: str | None = None) -> list[Any] | None:
    """An array parameter (``null`` counts as absent); ``param`` names it in errors."""
    value: list[Any] | None = _optional(body, key, list, "an array", param)
    return value


def get_name(body: Mapping[str, Any], key: str, param: str) -> str:
    """A required, non-empty name (of a tool, a format)."""
    value = body.get(key)
    if value is None:
        raise missing(param)
    if not isinstance(value, str):
        raise invalid_type(param, "a string", value)
    if not value:
        raise invalid_value(param, "must not be empty.")
    return value

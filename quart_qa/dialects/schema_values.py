"""Values that satisfy a JSON schema, generated deterministically.

The JSON schema becomes a pydantic model (json-schema-to-pydantic) and polyfactory builds an
instance of it from a seeded ``random.Random`` and Faker, so the same schema gives the same
value on every request. Dates and times are drawn around a fixed day, not around today.
Factories are cached per schema (bounded), one cache per app.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker

    from .schema_factory import Factory

MAX_CACHED_SCHEMAS = 256
# A request's schema must not make the server build a huge value: minimums above these are
# refused, maximums are lowered to them (a shorter value still satisfies a maximum).
MAX_ITEMS = 100
MAX_CHARS = 10_000
SMALL_ITEMS = 3
SMALL_CHARS = 40
_QUANTIFIER = re.compile(r"\{(\d+)")


class SchemaNotSupported(Exception):
    """No value can be generated for this schema; the message says why."""


def _refuse_above(schema: dict[str, Any], key: str, limit: int) -> None:
    value = schema.get(key)
    if isinstance(value, int | float) and value > limit:
        raise SchemaNotSupported(f"{key} {value} is more than this server builds ({limit})")


def _lower(schema: dict[str, Any], key: str, floor_key: str, small: int) -> None:
    floor = schema.get(floor_key)
    lowest = max(small, floor if isinstance(floor, int) else 0)
    value = schema.get(key)
    if isinstance(value, int | float) and value > lowest:
        schema[key] = lowest


def bounded(schema: Any) -> Any:
    """A copy of ``schema`` whose values stay small: minimums above :data:`MAX_ITEMS` items or
    :data:`MAX_CHARS` characters and long regex repeats are refused, and ``maxItems`` and
    ``maxLength`` lowered (a shorter value still satisfies a maximum)."""
    if isinstance(schema, list):
        return [bounded(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    copy = {key: bounded(value) for key, value in schema.items()}
    for key in ("minItems", "minProperties", "minContains"):
        _refuse_above(copy, key, MAX_ITEMS)
    _refuse_above(copy, "minLength", MAX_CHARS)
    _lower(copy, "maxItems", "minItems", SMALL_ITEMS)
    _lower(copy, "maxLength", "minLength", SMALL_CHARS)
    pattern = copy.get("pattern")
    if isinstance(pattern, str) and any(
        int(count) > MAX_CHARS for count in _QUANTIFIER.findall(pattern)
    ):
        raise SchemaNotSupported(f"the pattern repeats more than {MAX_CHARS} times")
    return copy


def _machinery() -> ModuleType:
    """:mod:`.schema_factory`, imported on the first schema: it is slow to import."""
    from . import schema_factory

    return schema_factory


class SchemaValues:
    """``values.generate(schema)``: a value valid against ``schema``, the same every time."""

    def __init__(self, seed: int = 0, max_cached: int = MAX_CACHED_SCHEMAS) -> None:
        self.seed = seed
        self._max_cached = max_cached
        self._faker: Faker | None = None
        self._factories: OrderedDict[str, Factory] = OrderedDict()

    def _factory(self, schema: Mapping[str, Any]) -> Factory:
        key = json.dumps(schema, sort_keys=True)
        cached = self._factories.get(key)
        if cached is not None:
            self._factories.move_to_end(key)
            return cached
        safe = bounded(schema)
        machinery = _machinery()
        if self._faker is None:
            self._faker = machinery.new_faker()
        try:
            factory: Factory = machinery.factory_for(safe, self._faker)
        except Exception as error:  # the converter raises many kinds; all mean "not supported"
            raise SchemaNotSupported(str(error) or type(error).__name__) from None
        self._factories[key] = factory
        if len(self._factories) > self._max_cached:
            self._factories.popitem(last=False)
        return factory

    def generate(self, schema: Mapping[str, Any]) -> Any:
        """A JSON value valid against ``schema`` (an object schema, as tools and formats use)."""
        factory = self._factory(schema)
        try:
            return _machinery().build(factory, self.seed)
        except Exception as error:
            raise SchemaNotSupported(str(error) or type(error).__name__) from None

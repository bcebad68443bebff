"""Values that satisfy a JSON schema, generated deterministically.

The JSON schema becomes a pydantic model (json-schema-to-pydantic) and polyfactory builds an
instance of it from a seeded ``random.Random`` and Faker, so the same schema gives the same
value on every request. Dates and times are drawn around a fixed day, not around today.
Factories are cached per schema (bounded), one cache per app.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from faker import Faker

    from .schema_factory import Factory

MAX_CACHED_SCHEMAS = 256


class SchemaNotSupported(Exception):
    """No value can be generated for this schema; the message says why."""


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
        machinery = _machinery()
        if self._faker is None:
            self._faker = machinery.new_faker()
        try:
            factory: Factory = machinery.factory_for(schema, self._faker)
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

"""Polyfactory over pydantic models built from JSON schemas: the machinery behind
:mod:`.schema_values`, imported on first use (polyfactory and Faker take most of a second to
import, too long to add to every server start)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from random import Random
from typing import Any

from faker import Faker
from json_schema_to_pydantic import create_model
from polyfactory.factories.base import BaseFactory
from polyfactory.factories.pydantic_factory import ModelFactory
from pydantic import BaseModel

EPOCH = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
YEAR_SECONDS = 365 * 24 * 3600

Factory = type[BaseFactory[BaseModel]]


class _Factory(ModelFactory[BaseModel]):
    """Polyfactory with words for free strings and dates near :data:`EPOCH` (a value does not
    change with the day)."""

    __is_base_factory__ = True

    @classmethod
    def get_provider_map(cls) -> dict[Any, Callable[[], Any]]:
        providers = super().get_provider_map()
        providers[dt.datetime] = lambda: (
            EPOCH + dt.timedelta(seconds=cls.__random__.randint(0, YEAR_SECONDS))
        )
        providers[dt.date] = lambda: (
            EPOCH + dt.timedelta(days=cls.__random__.randint(0, 365))
        ).date()
        providers[str] = cls.__faker__.word  # "garden" rather than 20 random letters
        return providers


def new_faker() -> Faker:
    """A Faker of its own, so seeding it touches no one else's."""
    return Faker()


def factory_for(schema: Mapping[str, Any], faker: Faker) -> Factory:
    """A factory of values for ``schema`` (raises whatever the converter raises)."""
    model: type[BaseModel] = create_model(
        dict(schema), allow_undefined_array_items=True, allow_undefined_type=True
    )
    return _Factory.create_factory(model, __faker__=faker, __random__=Random())


def build(factory: Factory, seed: int) -> Any:
    """The value ``factory`` builds from ``seed``, as JSON data."""
    factory.seed_random(seed)
    return factory.build().model_dump(mode="json", by_alias=True)

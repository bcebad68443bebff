"""Schemathesis against ``/openapi.json`` of a real server: no 5xx, responses as documented.

Every operation gets a bounded number of generated requests (valid ones, and for operations
with a body also invalid ones). Operations that document their responses must answer with a
documented status, content type and body schema; every operation must never answer 5xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, CheckFunction, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.live_server import live_server

MAX_EXAMPLES = 30  # per operation and generation mode; the whole module takes a few seconds
REQUEST_TIMEOUT = 5.0
FAST_CONFIG = """\
[stream]
chunk_delay = 0
heartbeat = 0
"""
TOKEN_CONFIG = FAST_CONFIG + '[auth]\nmode = "token"\nsecret = "schemathesis-secret-0123"\n'

# An event stream is read up to its first event (CONNECTED), then the request ends.
Operation = APIOperation[Any, Any, Any, Any]

SCHEMATHESIS_CONFIG = schemathesis.Config.from_dict({"max-stream-events": 1})
SCHEMA_CHECKS: list[CheckFunction] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def load_schema(config: Path) -> Iterator[BaseSchema]:
    with live_server(config) as server:
        yield schemathesis.openapi.from_url(
            f"{server.url}/openapi.json", config=SCHEMATHESIS_CONFIG
        )


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseSchema]:
    config = tmp_path_factory.mktemp("schemathesis") / "fast.toml"
    config.write_text(FAST_CONFIG, encoding="utf-8")
    yield from load_schema(config)


@pytest.fixture(scope="module")
def token_api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaseSchema]:
    config = tmp_path_factory.mktemp("schemathesis") / "token.toml"
    config.write_text(TOKEN_CONFIG, encoding="utf-8")
    yield from load_schema(config)


def operations(schema: BaseSchema) -> list[Operation]:
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"/openapi.json has an unusable operation: {result.err()}"
        found.append(result.ok())
    assert found, "the OpenAPI document lists no operations"
    return found


def documents_responses(operation: Operation) -> bool:
    return bool(operation.definition.raw.get("responses"))


def fuzz(operation: Operation, mode: GenerationMode, checks: list[CheckFunction]) -> None:
    """Send ``MAX_EXAMPLES`` generated requests to ``operation``; raise on the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )
    def send(case: Case[Any]) -> None:
        case.call_and_validate(checks=checks, timeout=REQUEST_TIMEOUT)

    send()


def fuzz_all(schema: BaseSchema, mode: GenerationMode) -> None:
    failures = []
    for operation in operations(schema):
        if mode is GenerationMode.NEGATIVE and not operation.body:
            continue  # an untyped path parameter has no invalid values to generate
        # An operation that documents no response at all has nothing to conform to.
        checks: list[CheckFunction] = (
            SCHEMA_CHECKS if documents_responses(operation) else [not_a_server_error]
        )
        try:
            fuzz(operation, mode, checks)
        except Exception as error:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}:\n{error}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_documented_responses(
    api_schema: BaseSchema, mode: GenerationMode
) -> None:
    fuzz_all(api_schema, mode)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_token_mode_too(token_api_schema: BaseSchema, mode: GenerationMode) -> None:
    fuzz_all(token_api_schema, mode)

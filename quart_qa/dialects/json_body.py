"""The request body as a JSON object: too large, not JSON, not an object or not Unicode
text is refused with an error naming the problem."""

from __future__ import annotations

import json
from typing import Any

from quart import request
from werkzeug.exceptions import RequestEntityTooLarge

from .api_errors import LlmApiError, invalid_value


async def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object; 413 beyond ``limits.max_body_bytes``, else 400."""
    try:
        raw = await request.get_data(cache=True)
    except RequestEntityTooLarge:
        limit = request.max_content_length
        raise LlmApiError(
            413, "request_too_large", f"request body is larger than {limit} bytes"
        ) from None
    return parse_json_object(raw)


def parse_json_object(raw: bytes | str) -> dict[str, Any]:
    """``raw`` as a JSON object of Unicode text (the routes and the ASGI fast path); else 400."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        raise LlmApiError(
            400, "malformed_json", f"could not parse the JSON body of the request: {error}"
        ) from None
    if not isinstance(body, dict):
        raise LlmApiError(400, "invalid_type", "the request body must be a JSON object")
    _reject_lone_surrogates(body, "")
    return body


def _reject_lone_surrogates(value: object, where: str) -> None:
    """400 naming the first string (key or value) holding a lone surrogate such as ``\\ud800``:
    valid JSON, but not Unicode text, and UTF-8 cannot carry it back to the client."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise invalid_value(
                    where or "body", "contains a lone surrogate, which is not valid Unicode."
                ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            _reject_lone_surrogates(key, path)
            _reject_lone_surrogates(item, path)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_lone_surrogates(item, f"{where}[{index}]")

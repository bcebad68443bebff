"""Turn every failure into a JSON error; no traceback ever reaches a client."""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import ValidationError
from quart import Quart, Request, Response, jsonify
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException

from ..streaming.refusals import Refused
from .errors import ApiError
from .refusals import count_refusal, refusal_error
from .state import get_state

log = logging.getLogger("quart_qa.web.errors")


class JsonErrorRequest(Request):
    """A request whose malformed JSON body becomes a clear ``malformed_json`` error."""

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """Parse the JSON body; a body that is not UTF-8, or nested deeper than the parser
        goes (about 1,000 levels), is malformed JSON too."""
        try:
            return await super().get_json(force=force, silent=silent, cache=cache)
        except UnicodeDecodeError as error:
            if silent:
                return None
            raise ApiError(
                400, "malformed_json", f"request body is not valid UTF-8: {error.reason}"
            ) from None
        except RecursionError:
            if silent:
                return None
            raise ApiError(
                400, "malformed_json", "request body is not valid JSON: nested too deeply"
            ) from None

    def on_json_loading_failed(self, error: Exception) -> Any:
        """Called by ``get_json`` when the body does not parse."""
        raise ApiError(400, "malformed_json", f"request body is not valid JSON: {error}")


def error_response(error: ApiError) -> Response:
    """The JSON response for ``error``."""
    response = jsonify({"error": error.code, "message": error.message})
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def describe_validation(error: Exception) -> ApiError:
    if not isinstance(error, ValidationError):
        return ApiError(400, "invalid_request", str(error) or "request body is invalid")
    problems = []
    code = "invalid_request"
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "body"
        if location == "question":
            code = "invalid_question"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] in {"model_type", "dict_type"}:
            message = 'must be a JSON object like {"question": "..."}'
        problems.append(f"{location}: {message}")
    return ApiError(400, code, "; ".join(problems))


def allow_header(error: HTTPException) -> dict[str, str]:
    """The ``Allow`` header of a 405 (empty for other errors)."""
    return {k: v for k, v in error.get_headers() if k.lower() == "allow"}


def http_error_response(error: HTTPException) -> Response:
    """The JSON response for a routing or HTTP error (404, 405, 413, ...)."""
    status = error.code or 500
    response = error_response(ApiError(status, _snake(error.name), error.description or error.name))
    if status == 405:
        response.headers.update(allow_header(error))
    return response


def register_error_handlers(app: Quart) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        count_refusal(get_state().metrics, error)
        return error_response(error)

    @app.errorhandler(Refused)
    async def _refused(refusal: Refused) -> Response:
        state = get_state()
        error = refusal_error(refusal, state.settings)
        count_refusal(state.metrics, error)
        return error_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def _invalid_body(error: RequestSchemaValidationError) -> Response:
        return error_response(describe_validation(error.validation_error))

    @app.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        count_refusal(get_state().metrics, ApiError(error.code or 500, _snake(error.name), ""))
        return http_error_response(error)

    @app.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error", exc_info=error)
        return error_response(ApiError(500, "internal_error", "the server failed; see its log"))

"""The LLM APIs' request errors: one that names the parameter at fault, the words for a
wrong type, a wrong value or a missing parameter, and the error handlers of a blueprint.

Each API renders :class:`LlmApiError` in its own error shape (``register_error_handlers``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from quart import Blueprint, Response
from werkzeug.exceptions import HTTPException

from ..streaming.faults import ScriptedFault
from ..web.errors import ApiError
from ..web.refusals import count_refusal
from ..web.state import get_state


class LlmApiError(ApiError):
    """An :class:`ApiError` that may name the request parameter at fault, and the provider's
    own error ``type`` where the status alone does not tell it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        error_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, headers=headers)
        self.param = param
        self.error_type = error_type


def error_type_of(error: ApiError) -> str | None:
    """The provider error ``type`` an error names, if any."""
    return error.error_type if isinstance(error, LlmApiError) else None


def generic_fault_error(fault: ScriptedFault) -> ApiError:
    """A scripted status fault in words any dialect can send (its own error shape around)."""
    words = fault.generic()
    return LlmApiError(words.status, words.code, words.message, headers=fault.headers())


def param_of(error: ApiError) -> str | None:
    """The parameter an error names, if any."""
    return error.param if isinstance(error, LlmApiError) else None


_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def _kind(value: object) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def invalid_type(param: str, expected: str, value: object) -> LlmApiError:
    """``param`` holds the wrong JSON type."""
    return LlmApiError(
        400,
        "invalid_type",
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        param=param,
    )


def invalid_value(param: str, problem: str) -> LlmApiError:
    """``param`` has the right type and a wrong value."""
    return LlmApiError(400, "invalid_value", f"Invalid value for '{param}': {problem}", param=param)


def missing(param: str) -> LlmApiError:
    """A required parameter is absent."""
    return LlmApiError(
        400, "missing_required_parameter", f"Missing required parameter: '{param}'.", param=param
    )


def register_error_handlers(
    blueprint: Blueprint,
    render: Callable[[ApiError], Response],
    http_code: Callable[[HTTPException], str],
    fault_error: Callable[[ScriptedFault], ApiError] = generic_fault_error,
) -> None:
    """Everything ``blueprint`` raises, in one API's error shape; no traceback reaches a client.

    ``fault_error`` words a scripted status fault the way this API's provider does.
    """

    @blueprint.errorhandler(ScriptedFault)
    async def _scripted_fault(fault: ScriptedFault) -> Response:
        return render(fault_error(fault))

    @blueprint.errorhandler(ApiError)
    async def _api_error(error: ApiError) -> Response:
        count_refusal(get_state().metrics, error)
        return render(error)

    @blueprint.errorhandler(HTTPException)
    async def _http_error(error: HTTPException) -> Response:
        api_error = ApiError(error.code or 500, http_code(error), error.description or error.name)
        count_refusal(get_state().metrics, api_error)
        return render(api_error)

    @blueprint.errorhandler(Exception)
    async def _unexpected(error: Exception) -> Response:
        logging.getLogger("quart_qa.llm").exception("unhandled error", exc_info=error)
        return render(ApiError(500, "internal_error", "the server failed; see its log"))

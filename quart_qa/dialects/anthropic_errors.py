"""Anthropic's error words: the ``{"type": "error", ...}`` body, scripted faults, failures."""

from __future__ import annotations

from typing import Any

from quart import Response

from ..settings.model_presets import ModelPreset
from ..streaming.faults import ScriptedFault
from ..streaming.playback import Failed
from ..web.errors import ApiError
from .api_errors import LlmApiError, error_type_of
from .api_responses import json_response
from .state import LlmState

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """Anthropic's error ``type`` for an HTTP status."""
    return _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(kind: str, message: str) -> dict[str, Any]:
    """``{"type": "error", "error": {...}}`` as Anthropic sends it."""
    return {"type": "error", "error": {"type": kind, "message": message}}


def error_response(error: ApiError) -> Response:
    """The HTTP error response for ``error``."""
    kind = error_type_of(error) or error_type(error.status)
    response = json_response(error_body(kind, error.message), error.status)
    response.headers.update(error.headers)
    return response


_FAULT_WORDS = {
    "rate_limit": (
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit. Please try again later.",
    ),
    "server_error": (500, "api_error", "Internal server error"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "context_length": (
        400,
        "invalid_request_error",
        "prompt is too long: 200001 tokens > 200000 maximum",
    ),
}


def fault_error(fault: ScriptedFault) -> ApiError:
    """A scripted status fault as api.anthropic.com words it (``overloaded`` is its 529)."""
    status, kind, message = _FAULT_WORDS[fault.kind]
    return LlmApiError(
        status, kind, fault.message_or(message), error_type=kind, headers=fault.headers()
    )


def require_model(state: LlmState, name: str) -> ModelPreset:
    """The preset for ``name``, or 404 ``not_found_error``."""
    model = state.find_model(name)
    if model is None:
        raise LlmApiError(404, "model_not_found", f"model: {name}", param="model")
    return model


_FAILURES: dict[str, tuple[int, str]] = {
    "rule": (500, "api_error"),
    "timeout": (504, "timeout_error"),
    "shutdown": (529, "overloaded_error"),
}


def failure_type(event: Failed) -> str:
    """The error ``type`` of a failed answer (the stream's ``error`` event)."""
    return _FAILURES[event.kind][1]


def failure_error(event: Failed) -> LlmApiError:
    """The error a failed whole answer is refused with."""
    status, kind = _FAILURES[event.kind]
    return LlmApiError(status, kind, event.message)

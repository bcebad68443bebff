"""OpenAI's error words: the ``{"error": {...}}`` body, scripted faults, failed answers.

Shared by Chat Completions and Responses (both answer as api.openai.com does).
"""

from __future__ import annotations

from typing import Any

from quart import Response
from werkzeug.exceptions import HTTPException

from ..settings.model_presets import ModelPreset
from ..streaming.faults import ScriptedFault
from ..streaming.playback import Failed
from ..web.errors import ApiError
from .api_errors import LlmApiError, error_type_of, param_of
from .api_responses import json_response
from .state import LlmState


def _error_type(status: int) -> str:
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


def error_body(error: ApiError) -> dict[str, Any]:
    """``{"error": {...}}`` as OpenAI sends it."""
    return {
        "error": {
            "message": error.message,
            "type": error_type_of(error) or _error_type(error.status),
            "param": param_of(error),
            "code": error.code or None,
        }
    }


def error_response(error: ApiError) -> Response:
    """The HTTP error response for ``error``."""
    response = json_response(error_body(error), error.status)
    response.headers.update(error.headers)
    return response


def http_error_code(error: HTTPException) -> str:
    """The ``code`` of an HTTP error Quart raised (``Not Found`` is ``not_found``)."""
    return error.name.lower().replace(" ", "_")


def fault_error(fault: ScriptedFault) -> ApiError:
    """A scripted status fault as api.openai.com words it (``code`` null where it sends null)."""
    headers = fault.headers()
    match fault.kind:
        case "rate_limit":
            wait = f"{fault.fault.retry_after:g}s"
            return LlmApiError(
                429,
                "rate_limit_exceeded",
                fault.message_or(
                    "Rate limit reached for requests per min (RPM): Limit 3, Used 3, "
                    f"Requested 1. Please try again in {wait}."
                ),
                error_type="requests",
                headers=headers,
            )
        case "overloaded":
            return LlmApiError(
                503,
                "server_is_overloaded",
                fault.message_or("The server is overloaded or not ready yet."),
                error_type="service_unavailable_error",
                headers=headers,
            )
        case "context_length":
            return LlmApiError(
                400,
                "context_length_exceeded",
                fault.message_or(
                    "This model's maximum context length is 128000 tokens. However, your "
                    "messages resulted in 128001 tokens. Please reduce the length of the messages."
                ),
                param="messages",
                error_type="invalid_request_error",
            )
    return LlmApiError(
        500,
        "",
        fault.message_or(
            "The server had an error while processing your request. Sorry about that!"
        ),
        error_type="server_error",
    )


def failure_error(event: Failed) -> LlmApiError:
    """The error a failed answer becomes (OpenAI's codes)."""
    if event.kind == "timeout":
        return LlmApiError(504, "timeout", event.message)
    if event.kind == "shutdown":
        return LlmApiError(503, "server_shutdown", event.message)
    return LlmApiError(500, "simulated_failure", event.message)


def require_model(state: LlmState, name: str) -> ModelPreset:
    """The preset for ``name``, or 404 ``model_not_found``."""
    model = state.find_model(name)
    if model is None:
        raise LlmApiError(
            404,
            "model_not_found",
            f"The model `{name}` does not exist on this server "
            f"(configured: {', '.join(m.name for m in state.listed_models())}).",
            param="model",
        )
    return model

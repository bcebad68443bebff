"""404 and 405 under ``/v1/`` in the caller's API shape, naming what was asked for.

The SDKs read ``error.message`` from their API's shape; the chat page's shape showed them an
empty message. OpenAI's shape by default, Anthropic's when the request carries an
``anthropic-version`` header (as the Anthropic SDKs send). Other paths keep the web layer's.
"""

from __future__ import annotations

from quart import Quart, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..web.error_handlers import allow_header, http_error_response
from ..web.errors import ApiError
from .anthropic_errors import error_response as anthropic_error
from .anthropic_models import ANTHROPIC_VERSION_HEADER
from .openai_errors import error_response as openai_error

PREFIX = "/v1/"
ENDPOINTS = "POST /v1/chat/completions, POST /v1/responses, POST /v1/messages, GET /v1/models"


def _describe(error: HTTPException) -> ApiError:
    asked = f"{request.method} {request.path}"
    if isinstance(error, MethodNotAllowed):
        allowed = allow_header(error).get("Allow", "")
        return ApiError(
            405,
            "method_not_allowed",
            f"Method not allowed ({asked}): {request.path} answers {allowed}.",
            headers=allow_header(error),
        )
    return ApiError(
        404,
        "unknown_url",
        f"Invalid URL ({asked}): this server has no such endpoint. It serves {ENDPOINTS}.",
    )


async def _v1_error(error: HTTPException) -> Response:
    if not request.path.startswith(PREFIX):
        return http_error_response(error)
    described = _describe(error)
    if ANTHROPIC_VERSION_HEADER in request.headers:
        return anthropic_error(described)
    return openai_error(described)


def register_unknown_routes(app: Quart) -> None:
    """Answer 404 and 405 under ``/v1/`` in the API's own shape."""
    app.register_error_handler(NotFound, _v1_error)
    app.register_error_handler(MethodNotAllowed, _v1_error)

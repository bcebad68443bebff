"""The Q&A endpoints: connect (SSE), ask and cancel. Thin: the work is in the runner."""

from __future__ import annotations

import re

from pydantic import ValidationError
from quart import Blueprint, Response, request
from quart_schema import (
    RequestSchemaValidationError,
    document_request,
    document_response,
    validate_response,
)

from .asking import accept_question, cancel_answer
from .auth import authorize_request
from .errors import ApiError
from .models import AskAccepted, CancelAccepted, ErrorBody, QuestionRequest
from .state import get_state
from .stream_opening import SSE_HEADERS, open_event_stream

USER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")

qa = Blueprint("qa", __name__, url_prefix="/qa")


def check_user_id(user_id: str) -> None:
    """Raise :class:`ApiError` 400 unless ``user_id`` matches :data:`USER_ID_PATTERN`."""
    if not USER_ID_PATTERN.fullmatch(user_id):
        raise ApiError(
            400, "invalid_user_id", "user_id must be 1-64 characters of A-Z, a-z, 0-9, _ or -"
        )


@qa.before_request
async def _check_request() -> None:
    user_id = (request.view_args or {}).get("user_id", "")
    check_user_id(user_id)
    authorize_request(get_state().settings.auth, user_id, request)
    if request.method == "POST" and request.endpoint == "qa.ask" and not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the question as JSON with Content-Type: application/json",
        )


@qa.get("/connect/<user_id>")
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 429)
@document_response(ErrorBody, 503)
async def connect(user_id: str) -> Response:
    """Open the user's event stream (Server-Sent Events), resuming after ``Last-Event-ID``."""
    if request.method == "HEAD":  # the headers a GET would get, without opening a stream
        return Response(b"", status=200, headers=SSE_HEADERS)
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    body = await open_event_stream(get_state(), user_id, last_event_id, request.remote_addr)
    response = Response(body, status=200, headers=SSE_HEADERS)
    response.timeout = None  # never cut by RESPONSE_TIMEOUT; `stream.timeout` ends it instead
    return response


@qa.post("/ask/<user_id>")
@document_request(QuestionRequest)
@document_response(AskAccepted, 202)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@document_response(ErrorBody, 413)
@document_response(ErrorBody, 415)
@document_response(ErrorBody, 429)
@document_response(ErrorBody, 503)
async def ask(user_id: str) -> Response:
    """Submit a question; its answer streams on every open connection of the user."""
    # Validated here with the same model quart-schema documents: its decorators cost more
    # per request than the whole rest of the handler (see bench/RESULTS.md).
    try:
        data = QuestionRequest.model_validate(await request.get_json())
    except ValidationError as error:
        raise RequestSchemaValidationError(error) from None
    accepted = await accept_question(get_state(), user_id, data.question)
    return Response(accepted.model_dump_json(), status=202, content_type="application/json")


@qa.post("/cancel/<user_id>")
@validate_response(CancelAccepted, 200)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def cancel(user_id: str) -> tuple[CancelAccepted, int]:
    """Stop the user's running answer and drop the queued ones."""
    return await cancel_answer(get_state(), user_id), 200

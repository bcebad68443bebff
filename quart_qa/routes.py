"""The Q&A endpoints: connect (SSE), ask and cancel. Thin: the work is in the runner."""

from __future__ import annotations

import asyncio
import logging
import re

from quart import Blueprint, Response, request
from quart_schema import document_response, validate_request, validate_response

from . import refusals
from .answer_runner import render
from .auth import authorize_request
from .broadcast import CloseReason
from .errors import ApiError
from .event_stream import EventStream, greeting_frames
from .models import AskAccepted, CancelAccepted, ErrorBody, QuestionRequest
from .state import AppState, get_state

log = logging.getLogger("quart_qa.connections")

USER_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}

qa = Blueprint("qa", __name__, url_prefix="/qa")


@qa.before_request
async def _check_request() -> None:
    user_id = (request.view_args or {}).get("user_id", "")
    if not USER_ID_PATTERN.fullmatch(user_id):
        raise ApiError(
            400, "invalid_user_id", "user_id must be 1-64 characters of A-Z, a-z, 0-9, _ or -"
        )
    authorize_request(get_state().settings.auth, user_id, request)
    if request.method == "POST" and request.endpoint == "qa.ask" and not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the question as JSON with Content-Type: application/json",
        )


def _refuse_when_draining(state: AppState) -> None:
    if state.draining:
        raise ApiError(
            503,
            "shutting_down",
            "the server is shutting down",
            headers=refusals.retry_after(state.settings),
        )


@qa.get("/connect/<user_id>")
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 429)
@document_response(ErrorBody, 503)
async def connect(user_id: str) -> Response:
    """Open the user's event stream (Server-Sent Events), resuming after ``Last-Event-ID``."""
    state = get_state()
    _refuse_when_draining(state)
    settings = state.settings
    last_event_id = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    connection = await state.broker.open(user_id, last_event_id)
    metrics = state.metrics
    metrics.open_connections.inc()

    def closed(reason: str, duration: float) -> None:
        metrics.open_connections.dec()
        metrics.connections_closed.labels(reason).inc()
        if reason == CloseReason.SLOW_CONSUMER:
            metrics.slow_consumers.inc()
        log.info("connection user=%s duration=%.3fs reason=%s", user_id, duration, reason)

    texts = {"user_id": user_id}
    greeting = greeting_frames(
        connection,
        render(settings.messages.connected, **texts),
        render(settings.messages.events_missed, **texts),
        settings.stream.retry_ms,
    )
    lifetime = settings.stream.timeout
    deadline = asyncio.get_running_loop().time() + lifetime if lifetime > 0 else None
    body = EventStream(connection, greeting, deadline, closed)
    response = Response(body, status=200, headers=SSE_HEADERS)
    response.timeout = None  # never cut by RESPONSE_TIMEOUT; `stream.timeout` ends it instead
    return response


@qa.post("/ask/<user_id>")
@validate_request(QuestionRequest)
@validate_response(AskAccepted, 202)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@document_response(ErrorBody, 413)
@document_response(ErrorBody, 415)
@document_response(ErrorBody, 429)
@document_response(ErrorBody, 503)
async def ask(user_id: str, data: QuestionRequest) -> tuple[AskAccepted, int]:
    """Submit a question; its answer streams on every open connection of the user."""
    state = get_state()
    if state.draining:
        raise ApiError(503, "shutting_down", "the server is shutting down; ask again shortly")
    limit = state.settings.limits.max_question_chars
    if len(data.question) > limit:
        raise ApiError(
            413,
            "question_too_long",
            f"question has {len(data.question)} characters; the limit is {limit}",
        )
    answer = await state.broker.submit(user_id, data.question)
    message = render(state.settings.messages.submitted, user_id=user_id, question=data.question)
    return AskAccepted(answer_id=answer.answer_id, message=message), 202


@qa.post("/cancel/<user_id>")
@validate_response(CancelAccepted, 200)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 401)
@document_response(ErrorBody, 403)
@document_response(ErrorBody, 404)
async def cancel(user_id: str) -> tuple[CancelAccepted, int]:
    """Stop the user's running answer and drop the queued ones."""
    state = get_state()
    result = await state.broker.cancel(user_id)
    return (
        CancelAccepted(
            answer_id=result.answer_id,
            dropped=result.dropped,
            message=state.settings.messages.answer_cancelled,
        ),
        200,
    )

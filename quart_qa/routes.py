"""The Q&A endpoints: connect (SSE), ask and cancel. Thin: the work is in the runner."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator

from quart import Blueprint, Response, request
from quart_schema import validate_request, validate_response

from .answer_runner import render
from .errors import ApiError
from .models import AskAccepted, CancelAccepted, ErrorBody, QuestionRequest
from .sse import encode_event
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
    if request.method == "POST" and request.endpoint == "qa.ask" and not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the question as JSON with Content-Type: application/json",
        )


async def event_stream(state: AppState, user_id: str) -> AsyncIterator[bytes]:
    """The frames of one connection: CONNECTED, then the user's events until it ends."""
    settings = state.settings
    loop = asyncio.get_running_loop()
    lifetime = settings.stream.timeout
    deadline = loop.time() + lifetime if lifetime > 0 else None
    opened = time.monotonic()
    with state.registry.subscribe(user_id) as (broadcast, subscription):
        try:
            yield encode_event(
                render(settings.messages.connected, user_id=user_id),
                event="CONNECTED",
                event_id=str(broadcast.next_id()),
            )
            while (frames := await subscription.next_frames(deadline)) is not None:
                yield frames
        finally:
            log.info(
                "connection user=%s duration=%.3fs reason=%s",
                user_id,
                time.monotonic() - opened,
                subscription.close_reason or "client_gone",
            )


@qa.get("/connect/<user_id>")
async def connect(user_id: str) -> Response:
    """Open the user's event stream (Server-Sent Events)."""
    response = Response(event_stream(get_state(), user_id), status=200, headers=SSE_HEADERS)
    response.timeout = None  # never cut by RESPONSE_TIMEOUT
    return response


@qa.post("/ask/<user_id>")
@validate_request(QuestionRequest)
@validate_response(AskAccepted, 202)
@validate_response(ErrorBody, 400)
@validate_response(ErrorBody, 404)
@validate_response(ErrorBody, 409)
@validate_response(ErrorBody, 413)
@validate_response(ErrorBody, 415)
@validate_response(ErrorBody, 429)
async def ask(user_id: str, data: QuestionRequest) -> tuple[AskAccepted, int]:
    """Submit a question; its answer streams on every open connection of the user."""
    state = get_state()
    limit = state.settings.limits.max_question_chars
    if len(data.question) > limit:
        raise ApiError(
            413,
            "question_too_long",
            f"question has {len(data.question)} characters; the limit is {limit}",
        )
    answer = state.runner.submit(user_id, data.question)
    message = render(state.settings.messages.submitted, user_id=user_id, question=data.question)
    return AskAccepted(answer_id=answer.answer_id, message=message), 202


@qa.post("/cancel/<user_id>")
@validate_response(CancelAccepted, 200)
@validate_response(ErrorBody, 400)
@validate_response(ErrorBody, 404)
async def cancel(user_id: str) -> tuple[CancelAccepted, int]:
    """Stop the user's running answer and drop the queued ones."""
    state = get_state()
    result = state.runner.cancel(user_id)
    return (
        CancelAccepted(
            answer_id=result.answer_id,
            dropped=result.dropped,
            message=state.settings.messages.answer_cancelled,
        ),
        200,
    )

"""Asking and cancelling: the rules shared by the routes, the ASGI fast path and the socket."""

from __future__ import annotations

from ..streaming.answer_runner import render
from .errors import ApiError
from .models import AskAccepted, CancelAccepted
from .state import AppState


async def accept_question(state: AppState, user_id: str, question: str) -> AskAccepted:
    """Queue ``question`` for ``user_id``; raises :class:`ApiError` (413, 503) or a refusal."""
    if state.draining:
        raise ApiError(503, "shutting_down", "the server is shutting down; ask again shortly")
    limit = state.settings.limits.max_question_chars
    if len(question) > limit:
        raise ApiError(
            413,
            "question_too_long",
            f"question has {len(question)} characters; the limit is {limit}",
        )
    answer = await state.broker.submit(user_id, question)
    message = render(state.settings.messages.submitted, user_id=user_id, question=question)
    return AskAccepted(answer_id=answer.answer_id, message=message)


async def cancel_answer(state: AppState, user_id: str) -> CancelAccepted:
    """Stop the running answer of ``user_id`` and drop its queue; a refusal when none runs."""
    result = await state.broker.cancel(user_id)
    return CancelAccepted(
        answer_id=result.answer_id,
        dropped=result.dropped,
        message=state.settings.messages.answer_cancelled,
    )

"""Opening one user's event stream: refusals, resume, greeting, metrics and the close log.

Shared by the Quart route and the ASGI fast path, so both serve exactly the same stream.
"""

from __future__ import annotations

import asyncio
import logging

from ..streaming.answer_runner import render
from ..streaming.event_stream import EventStream, greeting_frames
from ..streaming.refusals import TooManyConnections
from ..streaming.subscription import CloseReason
from . import refusals
from .errors import ApiError
from .state import AppState

log = logging.getLogger("quart_qa.connections")

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


async def open_event_stream(
    state: AppState, user_id: str, last_event_id: str | None, client: str | None
) -> EventStream:
    """Subscribe ``user_id`` (resuming after ``last_event_id``) for the ``client`` address;
    raises ApiError or a refusal."""
    settings = state.settings
    if state.draining:
        raise ApiError(
            503,
            "shutting_down",
            "the server is shutting down",
            headers=refusals.retry_after(settings),
        )
    if state.connection_count >= settings.limits.max_connections:
        raise TooManyConnections(settings.limits.max_connections)
    if state.registry.get(user_id) is None:
        state.address_limits.new_user(client)
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
    return EventStream(connection, greeting, deadline, closed)

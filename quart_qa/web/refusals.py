"""The chat page's words for every refusal: one status, code and message per kind."""

from __future__ import annotations

import math

from ..settings.config import Settings
from ..streaming import refusals
from ..streaming.faults import ScriptedFault
from ..streaming.metrics import Metrics
from .errors import ApiError

# Statuses that mean "a limit said no" (size, rate, capacity, draining), counted by code.
LIMIT_STATUSES = frozenset({408, 413, 429, 503})


def count_refusal(metrics: Metrics, error: ApiError) -> None:
    """Count ``error`` in ``qa_requests_refused_total`` when a limit refused the request."""
    if error.status in LIMIT_STATUSES:
        metrics.requests_refused.labels(error.code).inc()


def retry_after(settings: Settings) -> dict[str, str]:
    """A ``Retry-After`` header of the stream's reconnect delay (at least one second)."""
    return {"Retry-After": str(max(1, math.ceil(settings.stream.retry_ms / 1000)))}


def refusal_error(refusal: refusals.Refused, settings: Settings) -> ApiError:
    """The :class:`ApiError` clients of the chat-page protocol see for ``refusal``."""
    message = str(refusal)
    match refusal:
        case refusals.TooManyConnections():
            return ApiError(503, "too_many_connections", message, headers=retry_after(settings))
        case refusals.TooManyConnectionsForUser():
            return ApiError(
                429, "too_many_connections_for_user", message, headers=retry_after(settings)
            )
        case refusals.NotConnected():
            return ApiError(404, "not_connected", message)
        case refusals.Busy():
            return ApiError(409, "busy", message)
        case refusals.TooManyPending():
            return ApiError(429, "too_many_pending", message, headers={"Retry-After": "1"})
        case refusals.RateLimited(wait=wait):
            return ApiError(
                429, "rate_limited", message, headers={"Retry-After": str(math.ceil(wait))}
            )
        case refusals.NothingRunning():
            return ApiError(404, "nothing_running", message)
        case ScriptedFault():
            words = refusal.generic()
            return ApiError(words.status, words.code, words.message, headers=refusal.headers())
        case refusals.BrokerUnavailable():
            return ApiError(
                503,
                "broker_unavailable",
                "the message broker (Redis) is unreachable; try again shortly",
                headers=retry_after(settings),
            )
    return ApiError(503, "refused", message, headers=retry_after(settings))

"""The refusals every broker gives in the same words: limits, busy users, no connection."""

from __future__ import annotations

import math

from ..settings.config import Settings
from .errors import ApiError


def retry_after(settings: Settings) -> dict[str, str]:
    """A ``Retry-After`` header of the stream's reconnect delay (at least one second)."""
    return {"Retry-After": str(max(1, math.ceil(settings.stream.retry_ms / 1000)))}


def too_many_connections(settings: Settings) -> ApiError:
    limit = settings.limits.max_connections
    return ApiError(
        503,
        "too_many_connections",
        f"the server holds its limit of {limit} connections",
        headers=retry_after(settings),
    )


def too_many_connections_for_user(settings: Settings, user_id: str) -> ApiError:
    limit = settings.limits.max_connections_per_user
    return ApiError(
        429,
        "too_many_connections_for_user",
        f"user {user_id!r} already has {limit} open connections",
        headers=retry_after(settings),
    )


def not_connected(user_id: str) -> ApiError:
    return ApiError(404, "not_connected", f"user {user_id!r} has no open connection to answer on")


def busy() -> ApiError:
    return ApiError(409, "busy", "an answer is still streaming for this user")


def too_many_pending(waiting: int) -> ApiError:
    return ApiError(
        429,
        "too_many_pending",
        f"{waiting} questions are already waiting for this user",
        headers={"Retry-After": "1"},
    )


def rate_limited(settings: Settings, wait: float) -> ApiError:
    per_minute = settings.limits.asks_per_minute
    return ApiError(
        429,
        "rate_limited",
        f"more than {per_minute} questions a minute; try again in {wait:.1f} s",
        headers={"Retry-After": str(math.ceil(wait))},
    )


def nothing_running(user_id: str) -> ApiError:
    return ApiError(404, "nothing_running", f"no answer is running for user {user_id!r}")


def broker_unavailable(settings: Settings) -> ApiError:
    return ApiError(
        503,
        "broker_unavailable",
        "the message broker (Redis) is unreachable; try again shortly",
        headers=retry_after(settings),
    )

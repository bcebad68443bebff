"""Who may call the LLM-compatible APIs, and how often: ``[auth]`` and ``[limits]`` for them.

In token mode the token from ``POST /qa/session`` is the API key: ``Authorization: Bearer``
(what the OpenAI SDK sends) or ``x-api-key`` (what the Anthropic SDK sends); its user is the
caller. In mode none any key is accepted, so a key identifies nobody (a new one is free):
the caller is the client's address. ``limits.asks_per_minute`` then applies per caller, in a
bucket of its own apart from the chat page's questions.
"""

from __future__ import annotations

import math

from quart import Request

from ..settings.auth import AuthSettings
from ..streaming.rate_limit import RateLimiter
from ..web.auth import token_user, unauthorized
from ..web.errors import ApiError


def key_of(authorization: str, x_api_key: str) -> str | None:
    """The API key in these header values: ``Bearer <key>``, else ``x-api-key``."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return x_api_key.strip() or None


def presented_key(request: Request) -> str | None:
    """The API key of ``request``: ``Authorization: Bearer <key>``, else ``x-api-key``."""
    return key_of(request.headers.get("Authorization", ""), request.headers.get("x-api-key", ""))


def api_caller(auth: AuthSettings, request: Request) -> str:
    """The caller's identity; :class:`ApiError` 401 in token mode without a valid token."""
    return caller_of(auth, presented_key(request), request.remote_addr)


def caller_of(auth: AuthSettings, key: str | None, remote_addr: str | None) -> str:
    """The caller presenting ``key`` from ``remote_addr`` (401 in token mode without a valid
    token)."""
    if auth.mode == "token":
        if key is None:
            raise unauthorized(
                "missing_token",
                "this server needs a session token from POST /qa/session as the API key "
                "('Authorization: Bearer <token>' or 'x-api-key: <token>')",
            )
        return "user:" + token_user(auth, key)
    return "addr:" + str(remote_addr)


def check_api_access(
    auth: AuthSettings, limiter: RateLimiter, per_minute: int, request: Request
) -> str:
    """Authenticate and count one API request; returns the caller, or raises 401/429."""
    caller = api_caller(auth, request)
    admit(limiter, per_minute, caller)
    return caller


def admit(limiter: RateLimiter, per_minute: int, caller: str) -> None:
    """Count one request of ``caller``, or raise 429 (nothing counted) over the limit."""
    wait = limiter.hit(caller)
    if wait:
        raise ApiError(
            429,
            "rate_limit_exceeded",
            f"more than {per_minute} requests a minute; try again in {wait:.1f} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )

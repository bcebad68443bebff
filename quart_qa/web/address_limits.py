"""Per client address: how fast one address may invent user ids, sessions and API callers.

A user id costs the server a broadcast and its history for ``stream.history_ttl``; without
a limit one client inventing ids grows the server as fast as it can send requests. Behind a
reverse proxy every client has the proxy's address: raise these limits there (or set 0).
"""

from __future__ import annotations

import math

from ..settings.config import LimitsSettings
from ..streaming.rate_limit import RateLimiter
from .errors import ApiError


def _refusal(code: str, what: str, per_minute: int, wait: float) -> ApiError:
    return ApiError(
        429,
        code,
        f"more than {per_minute} {what} a minute from this address; try again in {wait:.1f} s",
        headers={"Retry-After": str(math.ceil(wait))},
    )


class AddressLimits:
    """``limits.new_users_per_minute`` and ``limits.sessions_per_minute``, per address."""

    def __init__(self, limits: LimitsSettings) -> None:
        self._limits = limits
        self._new_users = RateLimiter(limits.new_users_per_minute)
        self._sessions = RateLimiter(limits.sessions_per_minute)

    def new_user(self, address: str | None) -> None:
        """Count a user id this process does not hold yet; 429 ``too_many_new_users``."""
        wait = self._new_users.hit(address or "")
        if wait:
            per_minute = self._limits.new_users_per_minute
            raise _refusal("too_many_new_users", "new user ids", per_minute, wait)

    def session(self, address: str | None) -> None:
        """Count a ``POST /qa/session``; 429 ``too_many_sessions``."""
        wait = self._sessions.hit(address or "")
        if wait:
            per_minute = self._limits.sessions_per_minute
            raise _refusal("too_many_sessions", "sessions", per_minute, wait)

    def prune(self) -> None:
        """Forget addresses whose allowance is full again."""
        self._new_users.prune()
        self._sessions.prune()

"""Questions per user per minute: a generic cell rate algorithm, one float per user.

quart-rate-limiter fixes its limits when routes are decorated at import time, while ours
come from each app's TOML file, and it keys by remote address where we key by user id;
this is the same algorithm (GCRA) in thirty lines, state on the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """Allow ``per_minute`` events per key, in bursts of up to ``per_minute``."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._window = 60.0 - self._interval
        self._clock = clock
        self._next_free: dict[str, float] = {}

    @property
    def enabled(self) -> bool:
        """False when the limit is 0 (unlimited)."""
        return self._interval > 0

    def hit(self, key: str) -> float:
        """Count one event; 0 when allowed, else the seconds to wait (nothing counted)."""
        if not self._interval:
            return 0.0
        now = self._clock()
        arrival = max(self._next_free.get(key, now), now)
        wait = arrival - now - self._window
        if wait > 0:
            return wait
        self._next_free[key] = arrival + self._interval
        return 0.0

    def wait(self, key: str) -> float:
        """What :meth:`hit` would return now, counting nothing."""
        if not self._interval:
            return 0.0
        now = self._clock()
        return max(0.0, max(self._next_free.get(key, now), now) - now - self._window)

    def prune(self) -> None:
        """Forget keys whose allowance is full again (bounds memory)."""
        now = self._clock()
        for key in [key for key, at in self._next_free.items() if at <= now]:
            del self._next_free[key]

    def __len__(self) -> int:
        return len(self._next_free)

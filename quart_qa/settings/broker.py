"""The ``[broker]`` section: where a user's events travel between processes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from .errors import ConfigError

BrokerBackend = Literal["memory", "redis"]
REDIS_URL_SCHEMES = ("redis://", "rediss://", "unix://")
_PREFIX = re.compile(r"[A-Za-z0-9_.-]{1,32}")


@dataclass(frozen=True)
class BrokerSettings:
    """``backend = "memory"`` (one process) or ``"redis"`` (any number of processes and hosts).

    Durations are seconds. ``lease_ttl`` bounds how long a dead node's answer looks alive;
    ``node_ttl`` how long a dead node's connections still count.
    """

    backend: BrokerBackend = "memory"
    url: str = "redis://127.0.0.1:6379/0"
    prefix: str = "qa"
    lease_ttl: float = field(default=5.0, metadata={"min": 0.5})
    node_ttl: float = field(default=15.0, metadata={"min": 1})
    connect_timeout: float = field(default=2.0, metadata={"min": 0.1})

    def __post_init__(self) -> None:
        if not self.url.startswith(REDIS_URL_SCHEMES):
            raise ConfigError(
                "broker.url", f"must start with redis://, rediss:// or unix://, got {self.url!r}"
            )
        if not _PREFIX.fullmatch(self.prefix):
            raise ConfigError(
                "broker.prefix", f"must be 1-32 characters of A-Z, a-z, 0-9, _ . -: {self.prefix!r}"
            )

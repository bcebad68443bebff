"""The ``[auth]`` section: who may use a user's stream (see :mod:`quart_qa.web.auth`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .errors import ConfigError

MIN_SECRET_CHARS = 16

AuthMode = Literal["none", "token"]


@dataclass(frozen=True)
class AuthSettings:
    """The ``[auth]`` section; ``token_ttl`` is the token lifetime in seconds."""

    mode: AuthMode = "none"
    secret: str = field(default="", repr=False)  # never in logs or reprs
    token_ttl: float = field(default=3600.0, metadata={"min": 1})

    def __post_init__(self) -> None:
        if self.mode == "token" and len(self.secret) < MIN_SECRET_CHARS:
            raise ConfigError(
                "auth.secret",
                f'mode = "token" needs a secret of at least {MIN_SECRET_CHARS} characters '
                f"(got {len(self.secret)})",
            )

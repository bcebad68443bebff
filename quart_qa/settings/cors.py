"""The ``[cors]`` section: which other origins may call the server (see web/cors.py)."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class CorsSettings:
    """The ``[cors]`` section; no origins (the default) means same-origin only."""

    allow_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for index, origin in enumerate(self.allow_origins):
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ConfigError(
                    f"cors.allow_origins[{index}]",
                    f'must be "*" or an origin like "https://example.com", got {origin!r}',
                )
            if origin != "*" and origin.endswith("/"):
                raise ConfigError(
                    f"cors.allow_origins[{index}]",
                    f"an origin has no path or trailing slash, got {origin!r}",
                )

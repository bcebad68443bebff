"""Cross-origin access: the ``[cors]`` settings and applying them with quart-cors."""

from __future__ import annotations

from quart import Quart
from quart_cors import cors

from ..settings.cors import CorsSettings

# What a cross-origin page needs: JSON bodies and the bearer token (the preflight asks for them).
ALLOW_HEADERS = ("Authorization", "Content-Type", "Last-Event-ID")
ALLOW_METHODS = ("GET", "POST", "OPTIONS")
EXPOSE_HEADERS = ("Retry-After", "WWW-Authenticate")  # readable by the page's fetch
PREFLIGHT_MAX_AGE = 600.0  # seconds a browser may cache a preflight answer


def apply_cors(app: Quart, settings: CorsSettings) -> None:
    """Send CORS headers (and answer preflights) for the allowed origins; none: do nothing."""
    if not settings.allow_origins:
        return
    cors(
        app,
        allow_origin=list(settings.allow_origins),
        allow_headers=list(ALLOW_HEADERS),
        allow_methods=list(ALLOW_METHODS),
        expose_headers=list(EXPOSE_HEADERS),
        max_age=PREFLIGHT_MAX_AGE,
    )

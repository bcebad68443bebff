"""Cross-origin access: the ``[cors]`` settings and applying them with quart-cors."""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import Quart
from quart_cors import cors

from ..settings.cors import CorsSettings
from .errors import ApiError

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


def check_websocket_origin(settings: CorsSettings, origin: str | None, host: str | None) -> None:
    """Raise :class:`ApiError` 403 for a page of an origin ``[cors]`` does not allow.

    Browsers let any page open a WebSocket to any server (sending the page's ``Origin``), so
    this is the check CORS makes for ``fetch`` and ``EventSource``. The server's own origin
    (the ``Host`` the page connected to) always passes, and so do clients that send no
    ``Origin``: they are not browsers, and could send any ``Origin`` anyway.
    """
    if not origin or "*" in settings.allow_origins or origin in settings.allow_origins:
        return
    if urlsplit(origin).netloc == host:
        return
    raise ApiError(
        403,
        "origin_not_allowed",
        f"pages of {origin} may not open this socket (see [cors] allow_origins)",
    )

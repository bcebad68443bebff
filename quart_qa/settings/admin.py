"""``[admin]``: the run-time admin API under ``/_qa/`` (scripts, journal) and who may use it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError

MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class AdminSettings:
    """Off by default: a server people test against turns it on.

    ``token``: when set (always, in ``auth.mode = "token"``) every admin request needs
    ``Authorization: Bearer <token>``. ``journal_size``: requests the journal keeps. With the
    Redis broker, scripts, use counts and the journal are shared by every node.
    """

    enabled: bool = False
    token: str = ""
    journal_size: int = field(default=1000, metadata={"min": 1})


def check_admin(admin: AdminSettings, auth_mode: str) -> None:
    """Refuse combinations that would leave the admin API open or half-working."""
    if not admin.enabled:
        return
    if admin.token and len(admin.token) < MIN_TOKEN_CHARS:
        raise ConfigError("admin.token", f"must be at least {MIN_TOKEN_CHARS} characters")
    if auth_mode == "token" and not admin.token:
        raise ConfigError(
            "admin.token", 'is required with auth.mode = "token" (the admin API needs its own)'
        )

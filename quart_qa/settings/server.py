"""The ``[server]`` section: TLS (HTTP/2 by ALPN) and HTTP/3 for Hypercorn."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class ServerSettings:
    """PEM files for TLS, and a UDP address for HTTP/3; empty means off.

    Relative paths are taken from the working directory. ``quart-qa serve --certfile``,
    ``--keyfile`` and ``--quic-bind`` override them.
    """

    certfile: str = ""
    keyfile: str = ""
    quic_bind: str = ""

    def __post_init__(self) -> None:
        if bool(self.certfile) != bool(self.keyfile):
            missing = "keyfile" if self.certfile else "certfile"
            raise ConfigError(f"server.{missing}", "certfile and keyfile go together: set both")
        if self.quic_bind and not self.certfile:
            raise ConfigError("server.quic_bind", "HTTP/3 needs TLS: set certfile and keyfile too")

    @property
    def tls(self) -> bool:
        """Whether the server speaks TLS (and so offers HTTP/2)."""
        return bool(self.certfile)

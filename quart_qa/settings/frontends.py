"""The ``[frontends]`` section: where the front-end stream protocols are served.

``ai_sdk_path`` is the Vercel AI SDK's UI message stream (what ``useChat`` posts to, its
transport's ``api``); ``agui_path`` is AG-UI's HTTP agent endpoint. An empty string turns one off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import ConfigError

# Paths the server already uses for something else.
RESERVED_PREFIXES = ("/qa/", "/v1/", "/static/", "/docs", "/redoc", "/openapi.json")
_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


@dataclass(frozen=True)
class FrontendSettings:
    """The ``[frontends]`` section."""

    ai_sdk_path: str = "/api/chat"
    agui_path: str = "/agui"

    def __post_init__(self) -> None:
        paths = {"ai_sdk_path": self.ai_sdk_path, "agui_path": self.agui_path}
        for key, path in paths.items():
            if path == "":
                continue
            if not _PATH.fullmatch(path):
                raise ConfigError(
                    f"frontends.{key}",
                    f'must be "" (off) or a path like "/api/chat" (letters, digits, ".", "_", '
                    f'"~", "-" between slashes, no trailing slash), got {path!r}',
                )
            if path.startswith(RESERVED_PREFIXES) or path in ("/", "/healthz", "/metrics"):
                raise ConfigError(f"frontends.{key}", f"{path!r} is already used by the server")
        if self.ai_sdk_path and self.ai_sdk_path == self.agui_path:
            raise ConfigError("frontends.agui_path", "must differ from frontends.ai_sdk_path")

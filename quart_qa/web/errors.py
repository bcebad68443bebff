"""The error clients see: an HTTP status, a stable code and a human message."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Rendered as ``{"error": code, "message": message}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

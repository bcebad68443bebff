"""The broker error users see at start-up (importable without redis-py's client)."""

from __future__ import annotations


class BrokerUnavailable(Exception):
    """The broker cannot be reached at start-up; ``str()`` is one line for users."""

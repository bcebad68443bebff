"""Read Server-Sent Events from a Quart test connection (the package's own test helpers)."""

from __future__ import annotations

from quart_qa.testing import READ_TIMEOUT, TERMINAL_EVENTS, EventStream, open_stream

__all__ = [
    "READ_TIMEOUT",
    "TERMINAL_EVENTS",
    "EventStream",
    "id_order",
    "is_event_id",
    "open_stream",
]


def id_order(event_id: str) -> tuple[int, int]:
    """An event id as something that sorts like the stream: ``7`` or ``1700000000000-7``."""
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def is_event_id(event_id: str) -> bool:
    """An in-memory id (digits) or a Redis stream id (``<ms>-<seq>``)."""
    ms, _, seq = event_id.partition("-")
    return ms.isdigit() and (seq.isdigit() or "-" not in event_id)

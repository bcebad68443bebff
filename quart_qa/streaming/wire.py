"""What the answering core asks of the transport: drop the connection, corrupt a frame.

The core cannot write bytes: each dialect frames its events. So a stream fault that lives
below the framing is a request to the transport, made through the current request's
:class:`WireControl` (set by the web layer's recorder for every request), and it reaches
every dialect, present and future, without any dialect knowing.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


class StreamDropped(Exception):
    """Raised by the core to close the connection at once, with no terminating frame."""


@dataclass
class WireControl:
    """Per-request requests from the core to the transport."""

    corrupt_next: bool = False


CURRENT_WIRE: ContextVar[WireControl | None] = ContextVar("quart_qa_wire", default=None)


def corrupt_next_frame() -> None:
    """Make the next frame with a JSON ``data:`` line invalid JSON (cut in half)."""
    wire = CURRENT_WIRE.get()
    if wire is not None:
        wire.corrupt_next = True


def corrupt(frame: bytes) -> bytes | None:
    """``frame`` with its first JSON ``data:`` line cut in half (a whole JSON body: the body
    cut in half); None when it has no JSON to break."""
    if frame.startswith((b"{", b"[")):
        return frame[: max(1, len(frame) // 2)]
    lines = frame.split(b"\n")
    for index, line in enumerate(lines):
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload.startswith((b"{", b"[")):
                lines[index] = b"data: " + payload[: max(1, len(payload) // 2)]
                return b"\n".join(lines)
    return None

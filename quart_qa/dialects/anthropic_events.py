"""Framing a message as Anthropic's named events: ``event: <name>`` plus ``data: {"type":
<name>, ...}``; the text delta of a block is a template rendered once."""

from __future__ import annotations

from typing import Any

from ..streaming.frames import TextFrame
from ..streaming.playback import Failed, Finished, Piece
from ..streaming.sse import encode_event
from .anthropic_errors import error_body, failure_type
from .anthropic_message import STOP_REASONS
from .api_responses import compact_json


def event(name: str, body: dict[str, Any]) -> bytes:
    """One event frame."""
    return encode_event(compact_json({"type": name, **body}), event=name)


PING_FRAME = event("ping", {})


def text_delta_frame(index: int) -> TextFrame:
    """The ``content_block_delta`` of a text piece of block ``index``, rendered once."""
    return TextFrame(
        lambda text: event(
            "content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": text}}
        )
    )


def piece_delta(piece: Piece) -> dict[str, Any]:
    """A piece as a ``content_block_delta``'s ``delta``."""
    if piece.block.kind == "reasoning":
        return {"type": "thinking_delta", "thinking": piece.text}
    if piece.block.call is not None:
        return {"type": "input_json_delta", "partial_json": piece.text}
    return {"type": "text_delta", "text": piece.text}


def finished_frames(end: Finished, input_tokens: int) -> list[bytes]:
    """``message_delta`` (stop reason and usage), then ``message_stop``."""
    stop = {"stop_reason": STOP_REASONS[end.reason], "stop_sequence": end.stop_sequence}
    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": end.output_tokens,
    }
    return [event("message_delta", {"delta": stop, "usage": usage}), event("message_stop", {})]


def failed_frame(end: Failed) -> bytes:
    """The ``error`` event of an answer that failed after the stream began."""
    return encode_event(compact_json(error_body(failure_type(end), end.message)), event="error")

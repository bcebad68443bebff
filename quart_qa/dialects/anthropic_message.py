"""The ``message`` object and its content blocks, as ``message_start``, ``content_block_start``
and the whole (non-streamed) answer show them."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from ..streaming.completions import Block, FinishReason, ToolCall
from ..streaming.playback import Finished

STOP_REASONS: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "stop_sequence": "stop_sequence",
    "tool_calls": "tool_use",
}


def signature(thinking: str) -> str:
    """A stand-in for the signature that vouches for a thinking block: stable per text."""
    return base64.b64encode(hashlib.sha256(thinking.encode()).digest()).decode()


def tool_use_id(call: ToolCall) -> str:
    """Anthropic's id for a tool call."""
    return f"toolu_{call.id}"


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:  # cut short by max_tokens
        return {}


def content_block(block: Block, text: str) -> dict[str, Any]:
    """A content block as the whole message shows it (empty at ``content_block_start``)."""
    if block.kind == "reasoning":
        return {"type": "thinking", "thinking": text, "signature": signature(text) if text else ""}
    if block.call is not None:
        tool_input = _arguments(text) if text else {}
        return {
            "type": "tool_use",
            "id": tool_use_id(block.call),
            "name": block.call.name,
            "input": tool_input,
        }
    return {"type": "text", "text": text}


def message_object(
    message_id: str,
    model: str,
    input_tokens: int,
    content: list[dict[str, Any]],
    end: Finished | None,
    output_tokens: int,
) -> dict[str, Any]:
    """The ``message``: empty and unfinished at ``message_start``, whole in a JSON reply."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": STOP_REASONS[end.reason] if end else None,
        "stop_sequence": end.stop_sequence if end else None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }

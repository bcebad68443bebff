"""Framing a chat completion as ``chat.completion.chunk`` events, and the parts the whole
``chat.completion`` shares with them (tool calls, usage, finish reasons).

The chunks every stream sends are templates rendered once: only the id, ``created``, the model
name (and the text) are filled per stream.
"""

from __future__ import annotations

from typing import Any

from ..streaming.completions import FinishReason, ToolCall
from ..streaming.frames import Template
from ..streaming.playback import Finished, Piece
from ..streaming.sse import encode_comment, encode_event
from .api_responses import compact_json

SYSTEM_FINGERPRINT = "fp_quart_qa"
DONE_FRAME = b"data: [DONE]\n\n"
KEEP_ALIVE_FRAME = encode_comment("keep-alive")
FINISH_REASONS: dict[FinishReason, str] = {
    "stop": "stop",
    "stop_sequence": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
}


def usage(prompt_tokens: int, end: Finished) -> dict[str, Any]:
    """``usage`` as Chat Completions counts it."""
    counts: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": end.output_tokens,
        "total_tokens": prompt_tokens + end.output_tokens,
    }
    if end.reasoning_tokens:
        counts["completion_tokens_details"] = {"reasoning_tokens": end.reasoning_tokens}
    return counts


def call_id(call: ToolCall) -> str:
    """OpenAI's id for a tool call."""
    return f"call_{call.id}"


def tool_call(call: ToolCall, arguments: str) -> dict[str, Any]:
    """A tool call as a message's (or the first chunk's) ``tool_calls`` entry."""
    function = {"name": call.name, "arguments": arguments}
    return {"id": call_id(call), "type": "function", "function": function}


def chunk(
    completion_id: str,
    created: int | str,
    model: str,
    choices: list[dict[str, Any]],
    include_usage: bool,
    usage: dict[str, Any] | None = None,
) -> bytes:
    """One ``chat.completion.chunk`` frame (``created`` a string only as a template's marker)."""
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
    }
    if include_usage:
        body["usage"] = usage
    return encode_event(compact_json(body))


def choice(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    """A chunk's one choice."""
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def _role_delta(has_content: bool) -> dict[str, Any]:
    """The first chunk's delta: the role (``content`` null when the answer has no text)."""
    return {"role": "assistant", "content": "" if has_content else None, "refusal": None}


# Keyed by ``include_usage`` (and what varies besides).
ROLE_CHUNKS = {
    (usage, content): Template(
        lambda i, c, m, usage=usage, content=content: chunk(
            i, c, m, [choice(_role_delta(content))], usage
        ),
        3,
    )
    for usage in (False, True)
    for content in (False, True)
}
FINISH_CHUNKS = {
    (usage, reason): Template(
        lambda i, c, m, usage=usage, reason=reason: chunk(i, c, m, [choice({}, reason)], usage),
        3,
    )
    for usage in (False, True)
    for reason in set(FINISH_REASONS.values())
}
TEXT_CHUNKS = {
    usage: Template(
        lambda i, c, m, text, usage=usage: chunk(i, c, m, [choice({"content": text})], usage),
        4,
    )
    for usage in (False, True)
}


def piece_delta(piece: Piece) -> dict[str, Any]:
    """A piece as a chunk's ``delta``."""
    block = piece.block
    if block.call is not None:
        return {"tool_calls": [{"index": block.call.index, "function": {"arguments": piece.text}}]}
    if block.kind == "reasoning":
        return {"reasoning_content": piece.text}
    return {"content": piece.text}

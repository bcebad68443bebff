"""The whole ``chat.completion`` object of a non-streamed chat completion."""

from __future__ import annotations

from typing import Any

from ..streaming.playback import Collected, Finished
from .openai_chat_chunks import FINISH_REASONS, SYSTEM_FINGERPRINT, tool_call, usage


def chat_completion_object(
    completion_id: str,
    created: int,
    model: str,
    prompt_tokens: int,
    result: Collected,
    end: Finished,
    has_content: bool,
) -> dict[str, Any]:
    """The object for ``result`` (``content`` null when the answer has no text)."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": result.text if has_content else None,
        "refusal": None,
    }
    if result.reasoning:
        message["reasoning_content"] = result.reasoning
    if result.tool_calls:
        message["tool_calls"] = [tool_call(call, text) for call, text in result.tool_calls]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": FINISH_REASONS[end.reason],
            }
        ],
        "usage": usage(prompt_tokens, end),
    }

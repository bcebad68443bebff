"""The ``response`` object in each state of its life, and its ``usage``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..streaming.playback import Finished
from .responses_request import ResponsesRequest


def usage(request: ResponsesRequest, end: Finished) -> dict[str, Any]:
    """``usage`` as the Responses API counts it."""
    tokens_in, tokens_out = request.input_tokens, end.output_tokens
    return {
        "input_tokens": tokens_in,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": tokens_out,
        "output_tokens_details": {"reasoning_tokens": end.reasoning_tokens},
        "total_tokens": tokens_in + tokens_out,
    }


def response_object(
    request: ResponsesRequest,
    response_id: str,
    created_at: int,
    status: str,
    output: Sequence[dict[str, Any]] = (),
    end: Finished | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object: the request's settings echoed, its status, output and usage."""
    echo = request.echo
    incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": echo["instructions"],
        "max_output_tokens": echo["max_output_tokens"],
        "max_tool_calls": None,
        "model": request.model,
        "output": list(output),
        "parallel_tool_calls": echo["parallel_tool_calls"],
        "previous_response_id": echo["previous_response_id"],
        "prompt_cache_key": None,
        "reasoning": echo["reasoning"],
        "safety_identifier": None,
        "service_tier": "default",
        "store": echo["store"],
        "temperature": echo["temperature"],
        "text": echo["text"],
        "tool_choice": echo["tool_choice"],
        "tools": echo["tools"],
        "top_logprobs": 0,
        "top_p": echo["top_p"],
        "truncation": "disabled",
        "usage": usage(request, end) if end is not None else None,
        "user": echo["user"],
        "metadata": echo["metadata"],
    }

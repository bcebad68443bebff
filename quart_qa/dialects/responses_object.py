"""The ``response`` object in each state of its life, and its ``usage``.

A stream sends the object three times: at ``response.created`` and ``.in_progress`` it is the
same, so :class:`ResponseFrames` renders it once for both, and frames each event around the
object without encoding the event anew. (Rendering only the five keys that change with the
state around the rest, rendered once, measured no faster: each call of the JSON encoder costs
about what encoding the whole object does.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..streaming.playback import Finished
from ..streaming.sse import encode_event
from .api_responses import compact_json
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


class ResponseFrames:
    """The events of one stream that carry the whole response object, byte for byte what
    ``compact_json`` of each whole event gives; the object in progress rendered once."""

    def __init__(self, request: ResponsesRequest, response_id: str, created_at: int) -> None:
        self._request = request
        self._fixed = (response_id, created_at)
        started = response_object(request, response_id, created_at, "in_progress")
        self._started = compact_json(started)

    def event(
        self,
        kind: str,
        sequence: int,
        status: str,
        output: Sequence[dict[str, Any]] = (),
        end: Finished | None = None,
        error: dict[str, Any] | None = None,
    ) -> bytes:
        """The ``kind`` event numbered ``sequence``, carrying the response in ``status``."""
        if status == "in_progress" and not output and end is None and error is None:
            body = self._started
        else:
            whole = response_object(self._request, *self._fixed, status, output, end, error)
            body = compact_json(whole)
        # ``kind`` is one of this module's callers' event names: plain ASCII, nothing to escape.
        data = f'{{"type":"{kind}","sequence_number":{sequence},"response":{body}}}'
        return encode_event(data, event=kind)

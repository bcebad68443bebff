"""Anthropic Messages route: ``POST /v1/messages``.

The request is read in :mod:`.anthropic_request`, answered by :mod:`.anthropic_run` (events
framed in :mod:`.anthropic_events`, the message in :mod:`.anthropic_message`) and refused in
Anthropic's words (:mod:`.anthropic_errors`). See docs/llm-apis.md.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from .anthropic_errors import error_response, fault_error
from .anthropic_run import begin_message
from .api_errors import register_error_handlers
from .json_body import read_json_object
from .state import get_llm_state

anthropic_api = Blueprint("anthropic_api", __name__, url_prefix="/v1")
register_error_handlers(anthropic_api, error_response, lambda error: "http_error", fault_error)


@anthropic_api.post("/messages")
async def messages() -> Response:
    """Answer the conversation with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    message = await begin_message(state, await read_json_object())
    return await message.respond()

"""The OpenAI Responses route: ``POST /v1/responses``.

The request is read in :mod:`.responses_request` and answered by :mod:`.responses_run` (its
items in :mod:`.responses_items`, the response object in :mod:`.responses_object`), refused
in OpenAI's words (:mod:`.openai_errors`). See docs/llm-apis.md.
"""

from __future__ import annotations

from quart import Blueprint, Response, request

from .api_errors import register_error_handlers
from .json_body import read_json_object
from .openai_errors import error_response, http_error_code
from .responses_run import begin_response
from .state import get_llm_state

responses_api = Blueprint("responses_api", __name__, url_prefix="/v1")
register_error_handlers(responses_api, error_response, http_error_code)


@responses_api.post("/responses")
async def create_response() -> Response:
    """Answer the conversation with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    run = await begin_response(state, await read_json_object())
    return await run.respond()

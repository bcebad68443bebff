"""OpenAI Chat Completions routes: ``/v1/chat/completions``, ``/v1/models``.

The request is read in :mod:`.openai_chat_request`, answered by :mod:`.openai_chat_run`
(chunks framed in :mod:`.openai_chat_chunks`) and refused in OpenAI's words
(:mod:`.openai_errors`). See docs/llm-apis.md.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request

from ..settings.model_presets import ModelPreset
from .access import api_caller
from .anthropic_models import ANTHROPIC_VERSION_HEADER, anthropic_model, anthropic_model_list
from .api_errors import register_error_handlers
from .api_responses import json_response
from .json_body import read_json_object
from .openai_chat_run import begin_chat_completion
from .openai_errors import error_response, fault_error, http_error_code, require_model
from .state import LlmState, get_llm_state

OWNED_BY = "quart-qa"

openai_api = Blueprint("openai_api", __name__, url_prefix="/v1")
register_error_handlers(openai_api, error_response, http_error_code, fault_error)


@openai_api.post("/chat/completions")
async def chat_completions() -> Response:
    """Answer the conversation with the scripted rule, streamed or whole."""
    state = get_llm_state()
    state.check_access(request)
    completion = await begin_chat_completion(state, await read_json_object())
    return await completion.respond()


def _model_object(state: LlmState, model: ModelPreset) -> dict[str, Any]:
    return {"id": model.name, "object": "model", "created": state.created, "owned_by": OWNED_BY}


@openai_api.get("/models")
async def list_models() -> Response:
    """The configured models (Anthropic's listing shape when ``anthropic-version`` is sent)."""
    state = get_llm_state()
    api_caller(state.settings.auth, request)
    if ANTHROPIC_VERSION_HEADER in request.headers:
        return anthropic_model_list(state)
    models = [_model_object(state, model) for model in state.listed_models()]
    return json_response({"object": "list", "data": models})


@openai_api.get("/models/<path:name>")
async def retrieve_model(name: str) -> Response:
    """One model, or 404 ``model_not_found``."""
    state = get_llm_state()
    api_caller(state.settings.auth, request)
    if ANTHROPIC_VERSION_HEADER in request.headers:
        return anthropic_model(state, name)
    return json_response(_model_object(state, require_model(state, name)))

"""``GET /v1/models`` in Anthropic's shape, for a caller that sends ``anthropic-version``
(the OpenAI blueprint owns the path and hands such a caller here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quart import Response

from ..settings.model_presets import ModelPreset
from .anthropic_errors import error_body
from .api_responses import json_response
from .state import LlmState

ANTHROPIC_VERSION_HEADER = "anthropic-version"


def _model_info(state: LlmState, model: ModelPreset) -> dict[str, Any]:
    created = datetime.fromtimestamp(state.created, UTC).isoformat().replace("+00:00", "Z")
    return {
        "type": "model",
        "id": model.name,
        "display_name": model.name,
        "created_at": created,
        "lifecycle": "active",
    }


def anthropic_model_list(state: LlmState) -> Response:
    """``GET /v1/models`` in Anthropic's shape."""
    models = [_model_info(state, model) for model in state.listed_models()]
    return json_response(
        {
            "data": models,
            "has_more": False,
            "first_id": models[0]["id"],
            "last_id": models[-1]["id"],
        }
    )


def anthropic_model(state: LlmState, name: str) -> Response:
    """``GET /v1/models/<name>`` in Anthropic's shape."""
    model = state.find_model(name)
    if model is None:
        return json_response(error_body("not_found_error", f"model: {name}"), 404)
    return json_response(_model_info(state, model))

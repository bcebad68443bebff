"""Mount the OpenAI- and Anthropic-compatible APIs on an app."""

from __future__ import annotations

from quart import Quart

from ..settings.config import Settings
from .anthropic import anthropic_api
from .openai_chat import openai_api
from .state import LlmState


def init_llm_apis(app: Quart, settings: Settings) -> LlmState:
    """Register the LLM state and both blueprints on ``app``."""
    state = LlmState(settings)
    state.init_app(app)
    app.register_blueprint(openai_api)
    app.register_blueprint(anthropic_api)
    return state

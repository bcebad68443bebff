"""Mount the OpenAI- and Anthropic-compatible APIs on an app."""

from __future__ import annotations

from quart import Quart

from .anthropic_api import anthropic_api
from .config import Settings
from .llm_state import LlmState
from .openai_api import openai_api


def init_llm_apis(app: Quart, settings: Settings) -> LlmState:
    """Register the LLM state and both blueprints on ``app``."""
    state = LlmState(settings)
    state.init_app(app)
    app.register_blueprint(openai_api)
    app.register_blueprint(anthropic_api)
    return state

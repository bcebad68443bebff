"""Mount the OpenAI- and Anthropic-compatible APIs on an app."""

from __future__ import annotations

from quart import Quart

from ..settings.config import Settings
from ..web.state import get_state
from .anthropic import anthropic_api
from .openai_chat import openai_api
from .responses import responses_api
from .state import LlmState
from .unknown_routes import register_unknown_routes


def init_llm_apis(app: Quart, settings: Settings) -> LlmState:
    """Register the LLM state and the dialects' blueprints on ``app`` (after the app's state:
    the dialects pace their answers on the same timeline as the chat page's, and count their
    streams with the chat page's)."""
    app_state = get_state(app)
    state = LlmState(settings, app_state, scheduler=app_state.runner.scheduler)
    state.init_app(app)
    app.register_blueprint(openai_api)
    app.register_blueprint(anthropic_api)
    app.register_blueprint(responses_api)
    register_unknown_routes(app)
    return state

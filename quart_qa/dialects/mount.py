"""Mount the dialects on an app: the OpenAI- and Anthropic-compatible APIs, and the front-end
stream protocols (the AI SDK's UI message stream, AG-UI) at the paths ``[frontends]`` names."""

from __future__ import annotations

from quart import Quart

from ..settings.config import Settings
from ..streaming.rulebook import RuleBook
from ..web.state import get_state
from .agui import mount_agui
from .ai_sdk import mount_ai_sdk
from .anthropic import anthropic_api
from .openai_chat import openai_api
from .responses import responses_api
from .state import LlmState
from .unknown_routes import register_unknown_routes


def init_llm_apis(app: Quart, settings: Settings, rules: RuleBook) -> LlmState:
    """Register the LLM state, the dialects' blueprints and the front-end endpoints on ``app``
    (after the app's state: the dialects pace their answers on the same timeline as the chat
    page's, and count their streams with the chat page's)."""
    app_state = get_state(app)
    state = LlmState(settings, app_state, rules, scheduler=app_state.runner.scheduler)
    state.init_app(app)
    app.register_blueprint(openai_api)
    app.register_blueprint(anthropic_api)
    if settings.frontends.ai_sdk_path:
        mount_ai_sdk(app, settings.frontends.ai_sdk_path)
    if settings.frontends.agui_path:
        mount_agui(app, settings.frontends.agui_path)
    app.register_blueprint(responses_api)
    register_unknown_routes(app)
    return state

"""The application factory."""

from __future__ import annotations

from quart import Quart
from quart_schema import Info, QuartSchema

from . import __version__
from .dialects.fast_path import install_llm_fast_path
from .dialects.mount import init_llm_apis
from .settings.config import Settings, settings_from_environment
from .web.admin import admin
from .web.connection_guard import install_connection_guard
from .web.cors import apply_cors
from .web.error_handlers import JsonErrorRequest, register_error_handlers
from .web.fast_path import install_fast_path
from .web.health_routes import health
from .web.openapi import QAOpenAPIProvider
from .web.pages import STATIC_DIR, pages
from .web.recorder import install_recorder
from .web.routes import qa
from .web.session_routes import sessions
from .web.state import EXTENSION_KEY, AppState
from .web.ws_routes import sockets


class QAQuart(Quart):
    """Quart with requests that report malformed JSON clearly."""

    request_class = JsonErrorRequest


def create_app(settings: Settings | None = None) -> Quart:
    """Build the app; without ``settings`` read ``$QA_CONFIG`` or use the embedded defaults."""
    if settings is None:
        settings = settings_from_environment()
    app = QAQuart(__name__, static_folder=str(STATIC_DIR), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = settings.limits.max_body_bytes
    # The page and its modules revalidate on every load (ETag), so an upgrade is seen at once.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 0
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # keep answers readable
    QuartSchema(
        app,
        info=Info(title="quart-qa", version=__version__),
        openapi_path="/openapi.json",
        swagger_ui_path="/docs",
        redoc_ui_path="/redoc",
        openapi_provider_class=QAOpenAPIProvider,
    )
    state = AppState.from_settings(settings)
    app.extensions[EXTENSION_KEY] = state
    app.before_serving(state.start)
    app.after_serving(state.stop)
    register_error_handlers(app)
    app.register_blueprint(qa)
    app.register_blueprint(sessions)
    app.register_blueprint(sockets)
    app.register_blueprint(pages)
    init_llm_apis(app, settings, state.rules)
    app.register_blueprint(health)
    apply_cors(app, settings.cors)
    if settings.admin.enabled:
        app.register_blueprint(admin)
    install_llm_fast_path(app)
    install_fast_path(app)  # the chat page's connects and asks come first
    install_recorder(app, state.journal, settings.limits.max_body_bytes)
    install_connection_guard(  # outermost: every request's body, keep-alive and shutdown
        app,
        state.in_flight,
        settings.limits.body_timeout,
        settings.limits.max_body_bytes,
        state.metrics.requests_refused.labels("body_timeout").inc,
    )
    return app

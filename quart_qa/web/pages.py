"""The browser chat page."""

from __future__ import annotations

from quart import Blueprint, Response, current_app

pages = Blueprint("pages", __name__)


@pages.get("/")
async def index() -> Response:
    """The chat page (``static/index.html``)."""
    return await current_app.send_static_file("index.html")

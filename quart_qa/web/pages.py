"""The browser chat page."""

from __future__ import annotations

from pathlib import Path

from quart import Blueprint, Response, current_app

# A link to the repo's static/ in a checkout, a real folder in the wheel: the page is found
# the same way wherever quart-qa is installed.
STATIC_DIR = Path(__file__).parent / "static"

# The page loads only its own files (vendored libraries included) and talks only to this
# server; answers are sanitised Markdown, and this policy is the second line behind that.
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

pages = Blueprint("pages", __name__)


@pages.get("/")
async def index() -> Response:
    """The chat page (``static/index.html``), under a strict Content-Security-Policy."""
    response = await current_app.send_static_file("index.html")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    return response

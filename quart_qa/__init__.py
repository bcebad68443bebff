"""quart-qa: a scriptable streaming Q&A server that simulates an LLM over Server-Sent Events."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quart import Quart

    from .settings.config import Settings

__version__ = "0.1.0"
__all__ = ["__version__", "create_app"]


def create_app(settings: Settings | None = None) -> Quart:
    """Build the app (:func:`quart_qa.app.create_app`).

    Imported on first use, so that ``quart-qa ask`` and ``listen`` start without loading the
    web framework. A plain function rather than a lazy attribute: ``hypercorn
    "quart_qa:create_app()"`` evaluates the name in the module's namespace.
    """
    from .app import create_app as build

    return build(settings)

"""quart-qa: a scriptable streaming Q&A server that simulates an LLM over Server-Sent Events."""

from __future__ import annotations

__version__ = "0.1.0"

from .app import create_app

__all__ = ["__version__", "create_app"]

"""What an answer is made of, as every conversation hands it on, and how it fails.

Each conversation turns its wire format (the chat page's events, OpenAI chunks, Anthropic
events) into these same values, so ``ask`` and ``demo`` print one kind of thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Text:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class Thinking:
    """A piece of the model's reasoning, shown apart from the answer."""

    text: str


@dataclass(frozen=True)
class ToolCall:
    """A whole tool call: the tool's name and its arguments as JSON text."""

    name: str
    arguments: str
    id: str = ""

    def input(self) -> Any:
        """The arguments as a JSON value (an empty object when they are not JSON)."""
        try:
            return json.loads(self.arguments)
        except ValueError:
            return {}


Piece = Text | Thinking | ToolCall


class RequestFailed(Exception):
    """The server refused a request (an HTTP error status) or could not be reached."""


class AnswerFailed(Exception):
    """The answer began and then failed (an ERROR event or the API's error frame)."""

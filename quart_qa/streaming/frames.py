"""Pre-encoded frames: a frame of a dialect rendered once, then only its text escaped per use.

A dialect's text delta is the same JSON frame every time but for one string. Rendering it
through dicts, ``json.dumps`` and the SSE encoder for every delta is most of a delta's
cost; a :class:`TextFrame` renders it once around a marker and afterwards joins the fixed
bytes around the JSON-escaped text, byte for byte what the full encoder gives.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring

from .sse import utf8

MARKER = "\x00"  # escaped as \u0000 by JSON, so it cannot clash with the fixed parts
_ESCAPED_MARKER = b'"\\u0000"'


class TextFrame:
    """The frame ``render(text)`` would give, for any ``text``, without re-rendering it."""

    __slots__ = ("_prefix", "_suffix")

    def __init__(self, render: Callable[[str], bytes]) -> None:
        sample = render(MARKER)
        if sample.count(_ESCAPED_MARKER) != 1:
            raise ValueError(f"the text must appear once, as a JSON string: {sample!r}")
        prefix, _, suffix = sample.partition(_ESCAPED_MARKER)
        self._prefix = prefix
        self._suffix = suffix

    def __call__(self, text: str) -> bytes:
        """The frame carrying ``text``."""
        return self._prefix + utf8(encode_basestring(text)) + self._suffix

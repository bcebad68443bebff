"""Terminal output: colour only on a terminal, never with ``NO_COLOR`` set.

rich decides both from the stream itself (``isatty``) and the environment (``NO_COLOR``,
``FORCE_COLOR``, ``TERM=dumb``), so every command builds its consoles here and asks them.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.theme import Theme

THEME = Theme(
    {
        "question": "bold cyan",
        "speaker": "bold",
        "thinking": "dim italic",
        "tool": "magenta",
        "error": "bold red",
        "note": "dim",
        "event": "bold blue",
        "event.end": "bold green",
        "event.error": "bold red",
    }
)


def console(stream: TextIO | None = None) -> Console:
    """A console on ``stream`` (stdout by default) that wraps nothing it prints verbatim."""
    return Console(
        file=stream or sys.stdout,
        theme=THEME,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=True,
    )


def error_console() -> Console:
    """A console on stderr, for errors and status lines."""
    return console(sys.stderr)

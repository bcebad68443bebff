"""The terminal client commands: ``ask``, ``listen``, ``demo`` and ``record``.

Each module registers its sub-command with :func:`add_parsers` and has one ``run(args)``
coroutine returning the exit status; :func:`run` turns the failures they share (the server
refused, could not be reached, the answer failed) into a line on stderr and status 1.
"""

from __future__ import annotations

import argparse
import asyncio

import httpx

from . import ask, demo, listen, record
from .parsers import Subcommands
from .pieces import AnswerFailed, RequestFailed
from .terminal import error_console


def add_parsers(commands: Subcommands) -> None:
    """Register every client command."""
    for module in (ask, listen, demo, record):
        module.add_parser(commands)


def run(args: argparse.Namespace) -> int:
    """Run the chosen client command; its exit status."""
    try:
        status: int = asyncio.run(args.run(args))
    except (AnswerFailed, RequestFailed) as error:
        error_console().print(f"quart-qa {args.command}: {error}", style="error")
        return 1
    except httpx.HTTPError as error:
        reason = str(error) or type(error).__name__
        error_console().print(f"quart-qa {args.command}: {reason}", style="error")
        return 1
    return status

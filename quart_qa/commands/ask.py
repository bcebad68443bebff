"""``quart-qa ask``: one question, the answer printed as it streams, then its timing."""

from __future__ import annotations

import argparse
import sys
import time

from ..settings.config import config_path, load_config
from .parsers import Subcommands, add_command
from .pieces import Text, Thinking, ToolCall
from .target import add_target_options, open_conversation, target_from
from .terminal import console, error_console

DESCRIPTION = """\
Ask one question and print the answer as it streams, then the time to the first chunk and
the total on stderr. Exits 1 when the answer fails (an ERROR event, an API error frame) or the
server refuses the question, with the reason on stderr.

Without --url the command starts the server itself, on a free loopback port, with --config
(else $QA_CONFIG, else config/default.toml when present, else the embedded defaults)."""

EXAMPLES = """\
examples:
  quart-qa ask "什么是SSE"                                  # the seed's answer, no server needed
  quart-qa ask "What is SSE?" --config config/english-demo.toml
  quart-qa ask "What is SSE?" --url http://127.0.0.1:8000 --api openai
  echo "Why is the sky blue?" | quart-qa ask - --api anthropic --config config/llm-models.toml"""


def add_parser(commands: Subcommands) -> None:
    """Register ``ask``."""
    parser = add_command(
        commands,
        "ask",
        summary="ask one question and print the streamed answer",
        description=DESCRIPTION,
        examples=EXAMPLES,
    )
    parser.add_argument(
        "question", nargs="?", default="-", help="the question; - (default) reads it from stdin"
    )
    parser.add_argument("--config", help="TOML config of the embedded server (without --url)")
    add_target_options(parser, api_default="qa")
    parser.set_defaults(run=run)


def read_question(argument: str) -> str:
    """The question argument, or stdin's text when it is ``-``."""
    return sys.stdin.read().strip() if argument == "-" else argument


async def run(args: argparse.Namespace) -> int:
    """Ask, print, time; the exit status."""
    question = read_question(args.question)
    if not question:
        error_console().print("quart-qa ask: the question is empty", style="error")
        return 2
    out, err = console(), error_console()
    target = target_from(args)
    first: float | None = None
    async with open_conversation(target, lambda: load_config(config_path(args.config))) as chat:
        sent = time.perf_counter()
        try:
            async for piece in chat.ask(question):
                if first is None:
                    first = time.perf_counter() - sent
                if isinstance(piece, Text):
                    out.print(piece.text, end="")
                elif isinstance(piece, Thinking):
                    err.print(piece.text, end="", style="thinking")
                elif isinstance(piece, ToolCall):
                    out.print(f"\n[tool call] {piece.name} {piece.arguments}", style="tool")
        finally:
            out.print()  # end the answer's line, whatever happens next
    total = time.perf_counter() - sent
    first_text = "no chunk" if first is None else f"first chunk after {first:.2f} s"
    err.print(f"{first_text} · total {total:.2f} s", style="note")
    return 0

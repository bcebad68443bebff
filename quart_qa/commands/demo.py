"""``quart-qa demo``: play a demo script in the terminal, like a chat."""

from __future__ import annotations

import argparse
import time
from collections.abc import AsyncIterator

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markdown import Markdown
from rich.text import Text as RichText

from .conversations import Conversation
from .demo_script import DemoScript, Turn, load_demo
from .parsers import Subcommands, add_command
from .pieces import AnswerFailed, Piece, RequestFailed, Text, Thinking, ToolCall
from .speed import Clock, scale_pace, speed
from .target import add_target_options, open_conversation, target_from
from .terminal import console

DESCRIPTION = """\
Play a demo script: type each question of its [[conversation]] (a typing effect), stream the
answer as a chat does (Markdown rendered; thinking and tool calls shown apart), pause, go on.
Without --url the script's own [stream], [[answers]] and [models] answer it, from a server
started inside the command; with --url a running server answers.

--speed divides every wait: the typing, the pauses and, without --url, the server's pace
(2 plays twice as fast; 0 plays with no waits at all)."""

EXAMPLES = """\
examples:
  quart-qa demo feature-tour                       # a shipped demo, by name
  quart-qa demo config/demos/seed-zh.toml --speed 2
  quart-qa demo config/demos/seed-zh.toml --speed 0 > transcript.txt
  quart-qa demo config/demos/feature-tour.toml --url http://127.0.0.1:8000 --api openai"""

ASSISTANT = "assistant › "
YOU = "you › "
THINKING = "thinking: "
TOOL = "tool call: "
RESULT = "tool result: "
MAX_TOOL_ROUNDS = 8  # a script whose model keeps calling tools still ends


def add_parser(commands: Subcommands) -> None:
    """Register ``demo``."""
    parser = add_command(
        commands,
        "demo",
        summary="play a demo script (questions, typing, streamed answers)",
        description=DESCRIPTION,
        examples=EXAMPLES,
    )
    parser.add_argument(
        "script",
        help="the demo script: a TOML file, or a shipped demo's name (seed-zh, feature-tour)",
    )
    parser.add_argument(
        "--speed", type=speed, default=1.0, help="divide every wait by this (default: 1; 0: none)"
    )
    add_target_options(parser, api_default=None)
    parser.set_defaults(run=run)


class AnswerView:
    """The answer so far as one renderable: thinking, tool calls, then the Markdown text."""

    def __init__(self) -> None:
        self.thinking = ""
        self.calls: list[ToolCall] = []
        self.text = ""

    def add(self, piece: Piece) -> None:
        if isinstance(piece, Text):
            self.text += piece.text
        elif isinstance(piece, Thinking):
            self.thinking += piece.text
        else:
            self.calls.append(piece)

    def render(self) -> RenderableType:
        parts: list[RenderableType] = [RichText(ASSISTANT.rstrip(), style="speaker")]
        if self.thinking:
            parts.append(RichText(f"{THINKING}{self.thinking}", style="thinking"))
        parts.extend(RichText(tool_line(call), style="tool") for call in self.calls)
        if self.text:
            parts.append(Markdown(self.text))
        return Group(*parts)


def tool_line(call: ToolCall) -> str:
    """How a tool call is shown."""
    return f"{TOOL}{call.name}({call.arguments})"


async def show_live(out: Console, pieces: AsyncIterator[Piece]) -> list[ToolCall]:
    """On a terminal: redraw the answer as it grows, Markdown rendered; its tool calls."""
    view = AnswerView()
    with Live(view.render(), console=out, auto_refresh=False, vertical_overflow="visible") as live:
        async for piece in pieces:
            view.add(piece)
            live.update(view.render(), refresh=True)
    return view.calls


async def show_plain(out: Console, pieces: AsyncIterator[Piece]) -> list[ToolCall]:
    """Elsewhere (a pipe, a file): the pieces as they come, a transcript; its tool calls."""
    out.print(ASSISTANT, style="speaker", end="")
    last: type[Piece] | None = None
    calls: list[ToolCall] = []
    try:
        async for piece in pieces:
            if isinstance(piece, Text):
                prefix = "\n" if last in (Thinking, ToolCall) else ""
                out.print(f"{prefix}{piece.text}", end="")
            elif isinstance(piece, Thinking):
                prefix = "" if last is Thinking else f"\n{THINKING}"
                out.print(f"{prefix}{piece.text}", style="thinking", end="")
            else:
                out.print(f"\n{tool_line(piece)}", style="tool", end="")
                calls.append(piece)
            last = type(piece)
    finally:
        out.print()
    return calls


async def type_question(out: Console, question: str, per_character: float, clock: Clock) -> None:
    """Print the question a character at a time, as if typed."""
    out.print(YOU, style="speaker", end="")
    if per_character * clock.factor <= 0:
        out.print(question, style="question")
        return
    for character in question:
        out.print(character, style="question", end="")
        await clock.wait(per_character)
    out.print()


async def play_turn(
    out: Console, chat: Conversation, turn: Turn, script: DemoScript, clock: Clock
) -> None:
    """Show the note, type the question, stream the answer, pause."""
    if turn.note:
        out.print(turn.note, style="note")
    await type_question(out, turn.question, script.typing(turn), clock)
    started = time.perf_counter()
    show = show_live if out.is_terminal else show_plain
    pieces = chat.ask(turn.question)
    try:
        for _round in range(MAX_TOOL_ROUNDS):
            calls = await show(out, pieces)
            results = [(call, turn.result_for(call.name)) for call in calls]
            answered = [(call, result) for call, result in results if result is not None]
            if not calls or len(answered) < len(calls):
                break  # no calls, or one the script has no result for: the answer stands
            for call, result in answered:
                out.print(f"{RESULT}{call.name} → {result}", style="tool")
            pieces = chat.send_tool_results(answered)
    except (AnswerFailed, RequestFailed) as error:
        out.print(f"✗ {error}", style="error")
    out.print(f"({time.perf_counter() - started:.1f} s)", style="note")
    out.print()
    await clock.wait(script.pause(turn))


def offered_tools(script: DemoScript) -> tuple[str, ...]:
    """The tools the demo offers the model: ``[demo] tools``, else every tool its rules call
    (a rule that calls a tool the request does not offer is passed over)."""
    called = {tool for rule in script.settings.answers for tool in rule.called_tools}
    return script.demo.tools or tuple(sorted(called))


async def run(args: argparse.Namespace) -> int:
    """Play the script to its end; 0 even when a scripted answer fails (that is the demo)."""
    script = load_demo(args.script)
    clock = Clock(args.speed)
    out = console()
    out.soft_wrap = not out.is_terminal  # Live must wrap what it draws, to count its lines
    target = target_from(
        args, api=script.demo.api, user=script.demo.user, tools=offered_tools(script)
    )
    if script.demo.title:
        out.rule(script.demo.title)
    async with open_conversation(target, lambda: scale_pace(script.settings, clock.factor)) as chat:
        for turn in script.turns:
            await play_turn(out, chat, turn, script, clock)
    return 0

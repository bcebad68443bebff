"""``quart-qa listen``: follow a user's event stream, resuming with Last-Event-ID when it drops."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

import httpx

from .parsers import Subcommands, add_command
from .replies import error_message
from .sse_frames import SseEvent, SseParser
from .terminal import console, error_console

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_RETRY = 3.0  # seconds, until the server's CONNECTED says otherwise (retry:)
TRANSIENT = frozenset({429, 502, 503, 504})
EVENT_STYLES = {
    "ANSWER_END": "event.end",
    "ERROR": "event.error",
    "ANSWER_CANCELLED": "event.error",
    "EVENTS_MISSED": "event.error",
    "SERVER_SHUTDOWN": "event.error",
}

DESCRIPTION = """\
Follow a user's event stream (GET /qa/connect/USER) and print each event as it arrives: the
time, its name, its id and its data; with --raw, the bytes exactly as the server sent them.
When the stream ends or the connection drops, it reconnects after the server's retry: delay
(or --retry) and resumes with Last-Event-ID, saying so on stderr. Ctrl-C stops it."""

EXAMPLES = """\
examples:
  quart-qa listen u1                                   # then: quart-qa ask hi --url ... --user u1
  quart-qa listen u1 --url http://127.0.0.1:8000 --raw > frames.txt
  quart-qa listen u1 --retry 0.5                       # reconnect faster than retry: says"""


def add_parser(commands: Subcommands) -> None:
    """Register ``listen``."""
    parser = add_command(
        commands,
        "listen",
        summary="follow a user's event stream and print each event",
        description=DESCRIPTION,
        examples=EXAMPLES,
    )
    parser.add_argument("user", help="the user id whose stream to follow")
    parser.add_argument("--url", default=DEFAULT_URL, help="the server (default: %(default)s)")
    parser.add_argument("--raw", action="store_true", help="print the raw frames, byte for byte")
    parser.add_argument(
        "--retry", type=float, help="seconds before reconnecting (default: the server's retry:)"
    )
    parser.set_defaults(run=run)


def describe(event: SseEvent) -> tuple[str, str]:
    """One line for an event, and its style."""
    clock = datetime.now().strftime("%H:%M:%S.%f")[:-3]
    ident = "" if event.id is None else f" id={event.id}"
    return f"{clock} {event.event}{ident} {event.data}", EVENT_STYLES.get(event.event, "event")


async def run(args: argparse.Namespace) -> int:
    """Follow the stream until interrupted; 1 when the server refuses it for good."""
    out, err = console(), error_console()
    url = f"{args.url.rstrip('/')}/qa/connect/{args.user}"
    last_id: str | None = None
    delay = DEFAULT_RETRY
    dropped = False
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None)) as client:
        while True:
            headers = {"Last-Event-ID": last_id} if last_id is not None else {}
            try:
                async with client.stream("GET", url, headers=headers) as response:
                    if response.status_code >= 400:
                        await response.aread()
                        if response.status_code not in TRANSIENT:
                            err.print(f"quart-qa listen: {error_message(response)}", style="error")
                            return 1
                        raise httpx.TransportError(error_message(response))
                    if dropped:
                        since = f"after event {last_id}" if last_id else "from the live stream"
                        err.print(f"resumed {since} (Last-Event-ID)", style="note")
                    parser = SseParser()
                    async for chunk in response.aiter_raw():
                        if args.raw:
                            sys.stdout.buffer.write(chunk)
                            sys.stdout.buffer.flush()
                        for event in parser.feed(chunk):
                            if event.retry is not None:
                                delay = event.retry / 1000
                            if event.id is not None:
                                last_id = event.id
                            if not args.raw:
                                line, style = describe(event)
                                out.print(line, style=style)
                reason = "the server ended the stream"
            except httpx.TransportError as error:
                reason = f"connection lost ({error or type(error).__name__})"
            dropped = True
            wait = delay if args.retry is None else args.retry
            err.print(f"{reason}; reconnecting in {wait:g} s", style="note")
            await asyncio.sleep(wait)

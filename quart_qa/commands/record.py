"""``quart-qa record``: a recording proxy for the OpenAI and Anthropic APIs."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from .parsers import Subcommands, add_command
from .terminal import error_console

DEFAULT_BIND = "127.0.0.1:8100"

DESCRIPTION = """\
A proxy for the OpenAI and Anthropic APIs that records: each request is forwarded to
--upstream (any compatible server: the real API, another quart-qa), the answer streams back
unchanged, and --out is rewritten after each answer as a config whose [[answers]] answer the
same questions (matched exactly) with the same text, tool calls and pace: the time to the first
piece, then the mean gap between pieces. `quart-qa serve --config FILE` replays it as it is.
API keys pass through to the upstream and are never written."""

EXAMPLES = """\
examples:
  quart-qa record --upstream https://api.openai.com --out recorded.toml
      # then point the SDK at the proxy: OpenAI(base_url="http://127.0.0.1:8100/v1")
      #                              Anthropic(base_url="http://127.0.0.1:8100")
  quart-qa record --upstream http://127.0.0.1:8000 --out tour.toml --bind 127.0.0.1:0
  quart-qa serve --config recorded.toml          # replay"""


def add_parser(commands: Subcommands) -> None:
    """Register ``record``."""
    parser = add_command(
        commands,
        "record",
        summary="record a real API's answers into a replayable config",
        description=DESCRIPTION,
        examples=EXAMPLES,
    )
    parser.add_argument("--upstream", required=True, help="the API's base URL, without /v1")
    parser.add_argument("--out", required=True, type=Path, help="the TOML file to write")
    parser.add_argument(
        "--bind",
        default=DEFAULT_BIND,
        help="HOST:PORT to listen on, port 0 for any (default: %(default)s)",
    )
    parser.set_defaults(run=run)


async def run(args: argparse.Namespace) -> int:
    """Proxy and record until SIGINT or SIGTERM."""
    from .embedded import serving  # the web stack, only for the command that serves
    from .proxy import create_proxy
    from .recording import Recording, safe_url

    log = error_console()
    recording = Recording(args.out, args.upstream)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serving(create_proxy(args.upstream, recording, log), args.bind) as url:
        log.print(f"recording on {url} → {safe_url(args.upstream)}, writing {args.out}")
        log.print(f"  OpenAI SDK:    base_url={url}/v1", style="note")
        log.print(f"  Anthropic SDK: base_url={url}", style="note")
        await stop.wait()
    log.print(f"stopped: {len(recording.exchanges)} question(s) in {args.out}")
    return 0

"""The ``quart-qa`` command: ``serve``, ``check-config``, ``configs`` and the client commands
(``commands/``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from . import commands
from .settings.config import (
    CONFIG_ENV_VAR,
    DEFAULT_CONFIG_PATH,
    Settings,
    config_path,
    load_config,
    load_settings,
)
from .settings.errors import ConfigError
from .settings.server import ServerSettings
from .settings.shipped import SHIPPED_CONFIG_DIR, config_file, shipped_configs
from .streaming.refusals import BrokerUnavailable

DEFAULT_BIND = "127.0.0.1:8000"


def argument_parser() -> argparse.ArgumentParser:
    """The command line's grammar."""
    parser = argparse.ArgumentParser(
        prog="quart-qa",
        description="A streaming Q&A server that simulates an LLM over SSE, and a terminal "
        "client for it. `quart-qa COMMAND --help` shows each command with examples.",
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    serve = subcommands.add_parser(
        "serve",
        help="run the server under Hypercorn",
        epilog="examples:\n  quart-qa serve\n"
        "  quart-qa serve --config english-demo --bind 0.0.0.0:8000\n"
        "  quart-qa serve --config recorded.toml     # replay a `quart-qa record` file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--config",
        help=f"TOML config file, or the name of a shipped one (see: quart-qa configs); "
        f"default: ${CONFIG_ENV_VAR}, else {DEFAULT_CONFIG_PATH} if present",
    )
    serve.add_argument("--bind", default=DEFAULT_BIND, help="HOST:PORT (default: %(default)s)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default: 1)")
    serve.add_argument(
        "--certfile", help="PEM certificate chain: serve HTTPS, HTTP/2 by ALPN ([server] certfile)"
    )
    serve.add_argument("--keyfile", help="PEM private key of --certfile ([server] keyfile)")
    serve.add_argument(
        "--quic-bind",
        metavar="HOST:PORT",
        help="also serve HTTP/3 on this UDP address; needs TLS and quart-qa[http3] "
        "([server] quic_bind)",
    )
    serve.add_argument(
        "--no-watch",
        dest="watch",
        action="store_false",
        help="do not reload the config file when it changes (SIGHUP still reloads it)",
    )
    check = subcommands.add_parser(
        "check-config",
        help="validate a config and print its rules",
        epilog="examples:\n  quart-qa check-config english-demo\n"
        "  quart-qa check-config config/demos/feature-tour.toml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("path", help="TOML config file, or the name of a shipped one")
    subcommands.add_parser("configs", help="list the configs shipped with quart-qa")
    commands.add_parsers(subcommands)
    return parser


def _list_configs() -> int:
    configs = shipped_configs()
    width = max(len(config.name) for config in configs)
    for config in configs:
        print(f"{config.name:<{width}}  {config.summary}")
    print(f"\n(in {SHIPPED_CONFIG_DIR.resolve()}; run one: quart-qa serve --config NAME)")
    return 0


def _check_config(path_or_name: str) -> int:
    path = str(config_file(path_or_name))
    settings = load_settings(path)
    stream = settings.stream
    print(f"{path}: OK")
    print(
        f"stream: chunk_delay={stream.chunk_delay:g}s first_chunk_delay="
        f"{stream.first_chunk_delay:g}s timeout={stream.timeout:g}s "
        f"answer_timeout={stream.answer_timeout:g}s heartbeat={stream.heartbeat:g}s "
        f"on_busy={stream.on_busy}"
    )
    for index, rule in enumerate(settings.answers):
        print(f"answers[{index}] {rule.describe()}")
    return 0


def _with_server_options(settings: Settings, args: argparse.Namespace) -> Settings:
    """The [server] table with the command line's --certfile, --keyfile, --quic-bind over it."""
    server = settings.server
    return replace(
        settings,
        server=ServerSettings(
            certfile=args.certfile or server.certfile,
            keyfile=args.keyfile or server.keyfile,
            quic_bind=args.quic_bind or server.quic_bind,
        ),
    )


def _serve(args: argparse.Namespace) -> int:
    from .server import check_server_settings, serve_app

    workers: int = args.workers
    bind: str = args.bind
    if workers < 1:
        print("quart-qa: --workers must be at least 1", file=sys.stderr)
        return 2
    path = config_path(args.config)
    settings = _with_server_options(load_config(path), args)
    check_server_settings(settings.server)
    broker = settings.broker
    if workers > 1 and broker.backend == "memory":
        print(
            "quart-qa: --workers > 1 needs a shared broker: with the in-memory broker a "
            "question posted to one worker never reaches a stream held by another. "
            'Set [broker] backend = "redis" (and url) in the config (see docs/scaling.md).',
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if broker.backend == "redis":
        from .brokers.redis.client import check_redis

        asyncio.run(check_redis(broker.url, broker.connect_timeout))
    if workers > 1 and path is not None:
        from .workers import serve_workers

        return serve_workers(settings, path, bind, workers)
    asyncio.run(serve_app(settings, bind, config_path=path, watch=args.watch))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = argument_parser().parse_args(argv)
    try:
        if args.command == "check-config":
            return _check_config(args.path)
        if args.command == "configs":
            return _list_configs()
        if args.command == "serve":
            return _serve(args)
        return commands.run(args)
    except ConfigError as error:
        print(f"quart-qa: config error: {error}", file=sys.stderr)
        return 2
    except BrokerUnavailable as error:
        print(f"quart-qa: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. the port is taken
        print(f"quart-qa: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(Path(sys.argv[0]).name and sys.argv[1:]))

"""quart-qa on the Redis broker, as one benchmark "server": its own redis-server, then serve.

``python -m bench.redis_backend --config C --bind B`` starts ``redis-server`` (no
persistence) on a free port, writes C plus a ``[broker]`` table pointing at it, and then
*execs* ``quart-qa serve``: redis-server stays a child of the server process, so the
benchmark's CPU and memory figures (summed over the process tree, pinned to the server's
core) include Redis's own work.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from .configs import ServerConfig
from .servers import CHAT_PAGE, HOST, ServerKind, free_port, toml_config

START_TIMEOUT = 10.0


def _ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), 0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis() -> int:
    """A redis-server on a free port, ready; returns the port."""
    program = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    subprocess.Popen(
        [program, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while not _ping(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"redis-server did not answer on port {port}")
        time.sleep(0.02)
    return port


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_backend")
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--bind", required=True)
    args = parser.parse_args(argv)
    port = start_redis()
    config = args.config.with_name(f"{args.config.stem}-redis-{port}.toml")
    config.write_text(
        args.config.read_text(encoding="utf-8")
        + f'\n[broker]\nbackend = "redis"\nurl = "redis://{HOST}:{port}/0"\n',
        encoding="utf-8",
    )
    script = Path(sys.executable).with_name("quart-qa")
    program = str(script) if script.exists() else shutil.which("quart-qa") or "quart-qa"
    os.execv(program, [program, "serve", "--config", str(config), "--bind", args.bind])


def _command(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    path = toml_config(config, folder)
    return [sys.executable, "-m", "bench.redis_backend", "--config", str(path), "--bind", bind]


OURS_REDIS = ServerKind("quart-qa-redis", _command, frozenset({CHAT_PAGE}))

if __name__ == "__main__":
    main()

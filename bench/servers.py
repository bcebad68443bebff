"""Start a server under test as a pinned subprocess, watch its CPU and memory, stop it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from .client import open_stream
from .configs import ServerConfig, render
from .llm_client import DIALECTS, complete_once

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FD_LIMIT = 65536
SERVER_CORE = 0
CLIENT_CORE = 1
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


CHAT_PAGE = "chat-page"  # the protocol of /qa/connect and /qa/ask; the others are DIALECTS


def _always_here() -> str | None:
    return None


@dataclass(frozen=True)
class ServerKind:
    """A server implementation: its name in reports, what it speaks and how to start it.

    ``command(config, folder, bind)`` writes whatever files the server reads into ``folder``
    and returns the command line. ``paces_before_first`` counts, per dialect, the paces the
    server waits by script before its first content delta (subtracted from time to first
    chunk). ``missing()`` says why the server cannot run here (not installed), None when it can.
    """

    name: str
    command: Callable[[ServerConfig, Path, str], list[str]]
    speaks: frozenset[str]
    paces_before_first: Mapping[str, int] = field(default_factory=dict)
    missing: Callable[[], str | None] = _always_here


def toml_config(config: ServerConfig, folder: Path) -> Path:
    """The config both chat-page servers read, written into ``folder``."""
    path = folder / "config.toml"
    path.write_text(render(config), encoding="utf-8")
    return path


def _ours(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    script = Path(sys.executable).with_name("quart-qa")
    program = str(script) if script.exists() else shutil.which("quart-qa") or "quart-qa"
    return [program, "serve", "--config", str(toml_config(config, folder)), "--bind", bind]


def _baseline(config: ServerConfig, folder: Path, bind: str) -> list[str]:
    module = "bench.baselines.sse_starlette_server"
    path = toml_config(config, folder)
    return [sys.executable, "-m", module, "--config", str(path), "--bind", bind]


# Ours waits ``first_chunk_delay`` before the first delta; the API cases set it to one pace.
OURS = ServerKind(
    "quart-qa",
    _ours,
    frozenset({CHAT_PAGE, *DIALECTS}),
    dict.fromkeys(DIALECTS, 1),
)
BASELINE = ServerKind("sse-starlette", _baseline, frozenset({CHAT_PAGE}))


def can_pin() -> bool:
    """True when server and client can each get a core of their own."""
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pin_client() -> None:
    """Run this (client) process on its own core, away from the server's."""
    if can_pin():
        os.sched_setaffinity(0, {CLIENT_CORE})


def raise_fd_limit(target: int = FD_LIMIT) -> int:
    """Raise the soft open-file limit as far as the hard limit allows; the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class RunningServer:
    """A started server process: where it listens, and its tree's CPU time and RSS."""

    def __init__(self, kind: ServerKind, process: asyncio.subprocess.Process, port: int) -> None:
        self.kind = kind
        self.process = process
        self.host = HOST
        self.port = port

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the whole process tree so far."""
        total = 0.0
        for proc in _tree(self.process.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the whole process tree."""
        total = 0
        for proc in _tree(self.process.pid):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total

    def alive(self) -> bool:
        """True while the server process runs."""
        return self.process.returncode is None


def _server_preexec() -> None:
    raise_fd_limit()


def _tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-size:]
    except OSError:
        return ""


async def _probe(server: RunningServer, protocol: str) -> None:
    """One connection in ``protocol``: a chat-page stream, or a whole streamed completion."""
    if protocol == CHAT_PAGE:
        stream = await open_stream(server.host, server.port, "warmup")
        stream.close()
        return
    done = await complete_once(server.host, server.port, DIALECTS[protocol], "warm-up")
    if not done.ended.result():
        raise OSError(f"warm-up completion failed: {done.error}")


async def _wait_ready(server: RunningServer, log: Path, protocol: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if not server.alive():
            raise RuntimeError(f"{server.kind.name} exited at start:\n{_tail(log)}")
        try:
            async with asyncio.timeout(5.0):
                await _probe(server, protocol)
        except (OSError, TimeoutError) as error:
            if time.monotonic() > deadline:
                why = f"{server.kind.name} not ready ({error}):\n{_tail(log)}"
                raise RuntimeError(why) from None
            await asyncio.sleep(0.05)
        else:
            await asyncio.sleep(0.2)  # let the server notice the hang-up
            return


@contextlib.asynccontextmanager
async def serve(
    kind: ServerKind, config: ServerConfig, folder: Path, log: Path, protocol: str = CHAT_PAGE
) -> AsyncIterator[RunningServer]:
    """Start ``kind`` on a free port with ``config`` (files in ``folder``), ready for
    ``protocol``; stop it afterwards."""
    port = free_port()
    command = kind.command(config, folder, f"{HOST}:{port}")
    if can_pin():
        command = ["taskset", "-c", str(SERVER_CORE), *command]
    with log.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_server_preexec,
            start_new_session=True,
        )
    server = RunningServer(kind, process, port)
    try:
        await _wait_ready(server, log, protocol)
        yield server
    finally:
        await _stop(process)


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the server's process group, then SIGKILL it if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            continue
        return

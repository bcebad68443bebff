"""Run the real ``quart-qa serve`` in a subprocess on a free port, for tests over sockets."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 15.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Block until ``port`` accepts connections; fail if the process dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"server did not listen on port {port} within {timeout}s")


@dataclass
class ServerProcess:
    """A ``python -m quart_qa`` subprocess whose output goes to a log file."""

    process: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """What the process printed so far (stdout and stderr)."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_listening(self, timeout: float = START_TIMEOUT) -> None:
        """Block until the server accepts connections."""
        wait_for_port(self.port, self.process, timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the process and wait for it; kill it if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def kill(self) -> None:
        """Make sure the process is gone."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def spawn(
    args: list[str],
    env: dict[str, str] | None = None,
    port: int = 0,
    module: str = "quart_qa",
) -> ServerProcess:
    """Start ``python -m MODULE ARGS`` from the repo root."""
    with tempfile.NamedTemporaryFile(prefix="quart-qa-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(process, Path(log.name), port)


@contextlib.contextmanager
def live_server(config: Path | None = None, port: int | None = None) -> Iterator[ServerProcess]:
    """``quart-qa serve`` on ``port`` (default: a free one) until the block ends."""
    port = port or free_port()
    args = ["serve", "--bind", f"127.0.0.1:{port}"]
    if config is not None:
        args += ["--config", str(config)]
    server = spawn(args, port=port)
    try:
        server.wait_listening()
        yield server
    finally:
        server.kill()

"""A real ``redis-server`` (Debian's package) on a free port, no persistence, for tests."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .live_server import free_port

START_TIMEOUT = 30.0  # a guard, not a measure: a loaded machine starts slowly


def redis_server_path() -> str | None:
    """The ``redis-server`` program, if installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def _ping(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")
    return False


@dataclass
class RedisServer:
    """One ``redis-server`` process; ``restart()`` brings it back empty on the same port."""

    program: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(
        default_factory=lambda: Path(tempfile.mkstemp(prefix="redis-", suffix=".log")[1])
    )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Run the server and wait until it answers PING."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.program,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--daemonize", "no",
                    "--dir", tempfile.gettempdir(),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: {self.log.read_text()[-500:]}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill the server (its data is gone: there is no persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def redis_server(program: str) -> Iterator[RedisServer]:
    """A running server for the block."""
    server = RedisServer(program)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.log.unlink(missing_ok=True)

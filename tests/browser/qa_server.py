"""A real ``quart-qa serve`` subprocess on a free local port, for the browser tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 15.0  # seconds; a cold interpreter start plus imports
STOP_TIMEOUT = 5.0
POLL_INTERVAL = 0.05


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class QaServer:
    """``python -m quart_qa serve`` with a given config; can be killed and started again."""

    def __init__(self, config: Path, log_dir: Path, port: int | None = None) -> None:
        self.config = config
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and return once it answers ``GET /``."""
        if self._process is not None:
            raise RuntimeError("server already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "quart_qa",
            "serve",
            "--config",
            str(self.config),
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_until_ready()

    def kill(self) -> None:
        """Go away at once (SIGKILL): no goodbye to the open streams."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait(STOP_TIMEOUT)
        self._process = None

    def stop(self) -> None:
        """Shut down politely, or kill when that takes too long."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(STOP_TIMEOUT)
        self._process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _wait_until_ready(self) -> None:
        # Polling with a deadline: there is no event to wait on across a process boundary.
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise RuntimeError(f"quart-qa serve exited with {code}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(POLL_INTERVAL)
        self.stop()
        raise RuntimeError(
            f"quart-qa serve not ready after {STARTUP_TIMEOUT} s:\n{self.log_tail()}"
        )

    def __enter__(self) -> QaServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

"""The one way tests start a real ``quart-qa serve`` process on a free port (sockets, browsers)."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psutil

ROOT = Path(__file__).resolve().parents[2]
# A guard against a server that never comes up, not a measure of start-up: a loaded 2-core
# machine takes many seconds to start Python and import everything. Below pytest's own
# 60 s timeout, so a server that never listens fails with its log, not a bare timeout.
START_TIMEOUT = 45.0


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def exited(process: psutil.Process) -> bool:
    """The process has ended (a zombie nobody reaped counts: it serves nothing)."""
    try:
        status: str = process.status()
    except psutil.NoSuchProcess:
        return True
    return bool(status == psutil.STATUS_ZOMBIE)


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
                self.kill()
                raise
        return self.process.returncode

    def kill(self) -> None:
        """Make sure the process is gone, and every process it started (Hypercorn's or our
        workers, multiprocessing's resource tracker): SIGKILL to its whole process group,
        which a supervisor killed alone would leave behind, serving on as orphans."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _limit_open_files(limit: int | None) -> Callable[[], None] | None:
    if limit is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


def spawn(
    args: list[str],
    env: dict[str, str] | None = None,
    port: int = 0,
    module: str = "quart_qa",
    log: Path | None = None,
    program: Sequence[str] = (),
    cwd: Path = ROOT,
    max_open_files: int | None = None,
) -> ServerProcess:
    """Start ``python -m MODULE ARGS`` (or ``PROGRAM ARGS``) in ``cwd`` (default: the repo
    root), its output appended to ``log`` (at most ``max_open_files`` descriptors if given)."""
    if log is None:
        with tempfile.NamedTemporaryFile(prefix="quart-qa-", suffix=".log", delete=False) as file:
            log = Path(file.name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*(program or (sys.executable, "-m", module)), *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_limit_open_files(max_open_files),
            start_new_session=True,  # its own process group, for kill() to end it whole
        )
    return ServerProcess(process, log, port)


def serve_args(port: int, config: Path | str | None = None) -> list[str]:
    """``serve`` on 127.0.0.1:``port`` with ``config``, a file or a shipped config's name
    (default: the embedded defaults)."""
    args = ["serve", "--bind", f"127.0.0.1:{port}"]
    if config is not None:
        args += ["--config", str(config)]
    return args


@contextlib.contextmanager
def live_server(
    config: Path | None = None, port: int | None = None, max_open_files: int | None = None
) -> Iterator[ServerProcess]:
    """``quart-qa serve`` on ``port`` (default: a free one) until the block ends."""
    port = port or free_port()
    server = spawn(serve_args(port, config), port=port, max_open_files=max_open_files)
    try:
        server.wait_listening()
        yield server
    finally:
        server.kill()


class QaServer:
    """A server that keeps its port and log across restarts: killed and started again.

    ``options`` go after ``serve``'s own; ``program`` runs instead of ``python -m quart_qa``
    (say, an installed ``quart-qa``) in ``cwd``; ``scheme`` is ``https`` for a server given a
    certificate."""

    def __init__(
        self,
        config: Path | str,
        log_dir: Path,
        port: int | None = None,
        *,
        options: Sequence[str] = (),
        program: Sequence[str] = (),
        cwd: Path = ROOT,
        scheme: str = "http",
    ) -> None:
        self.config = config
        self.port = port or free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"server-{self.port}.log"
        self.options = list(options)
        self.program = program
        self.cwd = cwd
        self._server: ServerProcess | None = None

    def start(self) -> None:
        """Start the server and return once it accepts connections."""
        if self._server is not None:
            raise RuntimeError("server already running")
        server = spawn(
            [*serve_args(self.port, self.config), *self.options],
            port=self.port,
            log=self.log_path,
            program=self.program,
            cwd=self.cwd,
        )
        try:
            server.wait_listening()
        except (RuntimeError, TimeoutError) as error:
            server.kill()
            raise RuntimeError(
                f"quart-qa serve did not start: {error}\n{self.log_tail()}"
            ) from None
        self._server = server

    def kill(self) -> None:
        """Go away at once (SIGKILL): no goodbye to the open streams."""
        if self._server is not None:
            self._server.kill()
            self._server = None

    def stop(self) -> None:
        """Shut down politely, or kill when that takes too long."""
        if self._server is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._server.stop(timeout=5.0)
        self._server = None

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines the server printed."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

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

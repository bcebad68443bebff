"""Run ``quart-qa`` client commands as real processes: to completion, or alongside a test."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from .apps import ROOT

RUN_TIMEOUT = 60.0
# Plain output whatever the test runner's terminal: no colour, no terminal width guessing.
PLAIN = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}


def write_config(directories: pytest.TempPathFactory, name: str, text: str) -> Path:
    """``text`` as ``NAME.toml`` in a fresh folder: a config for a server or a command."""
    path = directories.mktemp(name) / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cli_command(*args: str) -> list[str]:
    """``python -m quart_qa ARGS`` with this interpreter."""
    return [sys.executable, "-m", "quart_qa", *args]


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run a command to its end; its exit status, stdout and stderr."""
    return subprocess.run(
        cli_command(*args),
        cwd=ROOT,
        env={**os.environ, **PLAIN, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class CliProcess:
    """A command running beside the test; its output gathered as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._changed = asyncio.Condition()
        assert process.stdout is not None
        assert process.stderr is not None
        self._readers = [
            asyncio.create_task(self._gather(process.stdout, self.stdout)),
            asyncio.create_task(self._gather(process.stderr, self.stderr)),
        ]

    async def _gather(self, stream: asyncio.StreamReader, into: bytearray) -> None:
        while chunk := await stream.read(65536):
            into.extend(chunk)
            async with self._changed:
                self._changed.notify_all()
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        """Return once ``condition()`` holds; fail with the output so far after ``timeout`` (a
        guard long enough for a command to start on a loaded machine)."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                while not condition():
                    if all(reader.done() for reader in self._readers):
                        raise AssertionError("the command ended first")
                    await self._changed.wait()
        except (TimeoutError, AssertionError) as error:
            raise AssertionError(
                f"{error or 'timed out'}; stdout: {self.stdout.decode(errors='replace')!r}; "
                f"stderr: {self.stderr.decode(errors='replace')!r}"
            ) from None

    async def stop(self) -> int:
        """Interrupt the command (Ctrl-C) and wait for it."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(10):
                    await self.process.wait()
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        await asyncio.gather(*self._readers)
        return self.process.returncode if self.process.returncode is not None else -1


@contextlib.asynccontextmanager
async def cli_process(*args: str, env: dict[str, str] | None = None) -> AsyncIterator[CliProcess]:
    """Start a command; interrupt it when the block ends."""
    process = await asyncio.create_subprocess_exec(
        *cli_command(*args),
        cwd=ROOT,
        env={**os.environ, **PLAIN, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = CliProcess(process)
    try:
        yield running
    finally:
        await running.stop()

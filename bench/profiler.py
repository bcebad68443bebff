"""Optional sampling profile of a server under load, with py-spy (``--profile DIR``)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

SAMPLE_RATE = 200  # per second
STOP_TIMEOUT = 20.0


def py_spy() -> str | None:
    """The py-spy executable beside this Python, else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.asynccontextmanager
async def profiled(pid: int, output: Path) -> AsyncIterator[None]:
    """Sample ``pid`` (and its children) for the block; collapsed stacks go to ``output``."""
    program = py_spy()
    if program is None:
        raise RuntimeError("--profile needs py-spy: pip install py-spy")
    process = await asyncio.create_subprocess_exec(
        *(program, "record", "--pid", str(pid), "--subprocesses"),
        *("--rate", str(SAMPLE_RATE), "--format", "raw", "--output", str(output)),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(0.5)  # let it attach before the load starts
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(STOP_TIMEOUT):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

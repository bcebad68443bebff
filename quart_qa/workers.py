"""Several worker processes on one listening socket (Redis broker only).

Each worker runs :func:`~quart_qa.server.serve_app`, as a single process does, on sockets
the supervisor opened; with the Redis broker the workers share users' streams, so any worker
may hold a stream and any worker may take the question. Hypercorn's own supervisor stops its
workers through a flag the app never sees, so their streams were cut with no goodbye and
running answers got no end; here SIGTERM or SIGINT sets a shared flag that each worker's
shutdown waits on, so every stream gets its grace and goodbye, in its own wire format. A
worker whose supervisor died without a word (SIGKILL) sets the flag itself, rather than
serve on as an orphan.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from hypercorn.config import Sockets

from .server import SHUTDOWN_MARGIN, hypercorn_config, listening_on
from .settings.config import CONFIG_ENV_VAR, Settings

log = logging.getLogger("quart_qa.server")

# Past shutdown_grace + SHUTDOWN_MARGIN a worker still running is terminated.
STRAGGLER_SECONDS = 2.0


def _stop_when_orphaned(stop: Event) -> None:
    """Set ``stop`` once the supervisor is gone (SIGKILL, the OOM killer), so a worker never
    outlives it holding the port: it ends its streams as on SIGTERM, then exits."""
    supervisor = multiprocessing.parent_process()
    if supervisor is None:
        return

    def watch() -> None:
        supervisor.join()  # returns once the supervisor's end of the spawn pipe is closed
        stop.set()

    threading.Thread(target=watch, name="quart-qa-supervisor-watch", daemon=True).start()


def _work(settings: Settings, bind: str, sockets: Sockets, stop: Event) -> None:
    """One worker process (spawned: it imports everything afresh)."""
    import asyncio

    from .server import serve_app

    _stop_when_orphaned(stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(serve_app(settings, bind, sockets=sockets, stop_flag=stop))


def _exit_status(processes: list[BaseProcess]) -> int:
    codes = [process.exitcode or 0 for process in processes]
    return next((code for code in codes if code != 0), 0)


def serve_workers(settings: Settings, config_path: str, bind: str, workers: int) -> int:
    """Serve with ``workers`` processes until SIGTERM or SIGINT; the exit status."""
    path = str(Path(config_path).resolve())
    os.environ[CONFIG_ENV_VAR] = path
    config = hypercorn_config(bind, settings)
    sockets = config.create_sockets()
    for sock in [*sockets.secure_sockets, *sockets.insecure_sockets]:
        sock.listen(config.backlog)  # connections queue while the workers start
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    processes: list[BaseProcess] = [
        context.Process(
            target=_work, args=(settings, bind, sockets, stop), name=f"quart-qa-worker-{number}"
        )
        for number in range(workers)
    ]
    # Ctrl-C reaches the whole process group: only the supervisor acts on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for process in processes:
        process.start()

    def request_stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    log.info(
        "quart-qa serving on %s with %d workers (config: %s)",
        listening_on(bind, settings.server),
        workers,
        settings.source,
    )
    try:
        running = list(processes)
        while running and not stop.is_set():
            wait([process.sentinel for process in running])
            running = [process for process in running if process.is_alive()]
            if len(running) < len(processes):  # a worker died: stop them all
                stop.set()
        limit = settings.stream.shutdown_grace + SHUTDOWN_MARGIN + STRAGGLER_SECONDS
        deadline = time.monotonic() + limit
        while (alive := [p.sentinel for p in processes if p.is_alive()]) and (
            left := deadline - time.monotonic()
        ) > 0:
            wait(alive, timeout=left)
        for process in processes:
            if process.is_alive():
                log.warning("worker %s did not stop in time: terminating it", process.name)
                process.terminate()
            process.join()
    finally:
        for sock in [*sockets.insecure_sockets, *sockets.secure_sockets, *sockets.quic_sockets]:
            sock.close()
    return _exit_status(processes)

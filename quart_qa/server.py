"""Run the app under Hypercorn, programmatically, with a clean stop on SIGTERM / Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
import ssl
from typing import Protocol

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.utils import wrap_app

from .app import create_app
from .gc_policy import collect_after_closes, freeze_start_up
from .loop_errors import install_accept_error_log
from .reload import ConfigReloader
from .settings.config import Settings
from .settings.errors import ConfigError
from .settings.server import ServerSettings
from .web.state import get_state

log = logging.getLogger("quart_qa.server")

SHUTDOWN_MARGIN = 3.0
# Room for a burst of new connections (Hypercorn's default is 100): a dropped SYN costs the
# client a 1 s retransmit, which is what a thousand users asking at once would see.
BACKLOG = 2048


def hypercorn_config(bind: str, settings: Settings) -> HypercornConfig:
    """Hypercorn settings for serving event streams and WebSockets."""
    config = HypercornConfig()
    config.bind = [bind]
    # Our own shutdown (answers' grace, goodbye events) runs before Hypercorn's wait starts.
    config.graceful_timeout = SHUTDOWN_MARGIN
    config.backlog = BACKLOG
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    # A WebSocket's heartbeats are pings; a message may be as big as an HTTP body, no bigger.
    config.websocket_ping_interval = settings.stream.heartbeat or None
    config.websocket_max_message_size = settings.limits.max_body_bytes
    server = settings.server
    if server.tls:  # Hypercorn then offers HTTP/2 and HTTP/1.1 by ALPN
        config.certfile = server.certfile
        config.keyfile = server.keyfile
    if server.quic_bind:
        config.quic_bind = [server.quic_bind]
    return config


def check_server_settings(server: ServerSettings) -> None:
    """Raise ConfigError now, not in Hypercorn's start-up, when TLS or HTTP/3 cannot work."""
    if server.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(server.certfile, server.keyfile)
        except OSError as error:  # ssl.SSLError is one too
            raise ConfigError(
                "server",
                f"cannot use certfile {server.certfile!r} with keyfile {server.keyfile!r}: "
                f"{error.strerror or error}",
            ) from None
    if server.quic_bind and importlib.util.find_spec("aioquic") is None:
        raise ConfigError("server.quic_bind", "HTTP/3 needs aioquic: pip install 'quart-qa[http3]'")


def listening_on(bind: str, server: ServerSettings) -> str:
    """Where and how the server listens, for the start-up log line."""
    if not server.tls:
        return f"http://{bind}"
    where = f"https://{bind} (HTTP/2 and HTTP/1.1"
    if server.quic_bind:
        where += f"; HTTP/3 on UDP {server.quic_bind}"
    return where + ")"


class StopFlag(Protocol):
    """A stop request shared across processes (``multiprocessing.Event``)."""

    def is_set(self) -> bool: ...


STOP_FLAG_POLL = 0.1


async def _stopped(stop: asyncio.Event, flag: StopFlag | None) -> None:
    """Return on SIGTERM or SIGINT, or once the supervisor's ``flag`` is set."""
    if flag is None:
        await stop.wait()
        return
    while not stop.is_set() and not flag.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_FLAG_POLL):
                await stop.wait()


async def serve_app(
    settings: Settings,
    bind: str,
    *,
    sockets: Sockets | None = None,
    stop_flag: StopFlag | None = None,
    config_path: str | None = None,
    watch: bool = True,
) -> None:
    """Serve until SIGTERM or SIGINT (or ``stop_flag``), then end every stream and stop.

    A worker of :mod:`quart_qa.workers` passes the shared listening ``sockets`` and the
    supervisor's ``stop_flag``; it then stops exactly as a single process does. With
    ``config_path``, SIGHUP reloads its rules, and so does every save when ``watch``.
    """
    app = create_app(settings)
    state = get_state(app)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    install_accept_error_log(loop)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    watcher: asyncio.Task[None] | None = None
    if config_path is not None:
        reloader = ConfigReloader(app, config_path)
        loop.add_signal_handler(signal.SIGHUP, reloader.reload)
        if watch:
            watcher = loop.create_task(reloader.watch(stop), name="config-watch")
            log.info("watching %s for changes (--no-watch turns it off)", config_path)

    async def shutdown_trigger() -> None:
        await _stopped(stop, stop_flag)
        log.info("stopping: saying goodbye to open streams")
        await state.shut_down()

    config = hypercorn_config(bind, settings)
    if sockets is None:
        log.info(
            "quart-qa serving on %s (config: %s)",
            listening_on(bind, settings.server),
            settings.source,
        )
    freeze_start_up()
    collector = loop.create_task(collect_after_closes(lambda: state.closed_streams))
    try:
        await worker_serve(
            wrap_app(app, config.wsgi_max_body_size, None),
            config,
            sockets=sockets,
            shutdown_trigger=shutdown_trigger,
        )
    finally:
        collector.cancel()
        if watcher is not None:
            stop.set()
            await watcher

"""The three load scenarios: S1 throughput, S2 concurrency, S3 idle capacity.

Each scenario names the server config it needs and, given a started server,
returns its figures as a flat ``{name: value}`` mapping (NaN when a figure could
not be measured, e.g. no chunk arrived at all).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .client import SseStream, ask, open_stream
from .configs import ServerConfig
from .netstat import listen_drops
from .quiet import busy_seconds
from .servers import CHAT_PAGE, RunningServer
from .stats import binned, percentile

Figures = dict[str, float]
Series = dict[str, list[float]]
SERIES_BIN = 0.05  # seconds: the width of a bin of the lateness-over-time series


@dataclass
class Measured:
    """What one run measured: its figures, and time series kept for the plots."""

    figures: Figures
    series: Series = field(default_factory=dict)


def gap_points(
    chunk_times: Iterable[Sequence[float]], began: float, pace: float
) -> list[tuple[float, float]]:
    """``(arrival - began, gap - pace)`` for each pair of consecutive chunks of each stream."""
    return [
        (b - began, b - a - pace) for times in chunk_times for a, b in itertools.pairwise(times)
    ]


def lateness_series(points: Sequence[tuple[float, float]], name: str = "late") -> Series:
    """Lateness (ms) over time (s since the window began), binned: p50, p99 and max, as
    ``<name>_t_s``, ``<name>_p50_ms``, ``<name>_p99_ms``, ``<name>_max_ms``."""
    bins = binned(points, SERIES_BIN)
    return {
        f"{name}_t_s": bins["t"],
        f"{name}_p50_ms": [1e3 * value for value in bins["p50"]],
        f"{name}_p99_ms": [1e3 * value for value in bins["p99"]],
        f"{name}_max_ms": [1e3 * value for value in bins["max"]],
    }


NET_TIMEOUT = 10.0  # any single connect or request
CONNECT_CONCURRENCY = 64  # streams being opened at once (setup only, not measured)
QUESTION = "benchmark question"
PACED = 1e-6  # the token chunk delay of the paced S1 variant


class Scenario(Protocol):
    """What the runner needs from a scenario."""

    @property
    def case(self) -> str:
        """Short name of this case in the report, e.g. ``S2 C=1000``."""
        ...

    @property
    def budget(self) -> float:
        """Seconds after which the whole case is abandoned."""
        ...

    @property
    def protocol(self) -> str:
        """What the case speaks: ``chat-page`` or an LLM API dialect (``openai``, ...)."""
        ...

    def server_config(self) -> ServerConfig:
        """The config the server under test is started with."""
        ...

    async def run(self, server: RunningServer) -> Measured:
        """Load the server and measure."""
        ...


@dataclass(frozen=True)
class Window:
    """Wall time and CPU seconds of one measured window."""

    wall: float
    server_cpu: float
    client_cpu: float
    other_cpu: float  # everything else on the machine: a shared machine shows here

    def pct(self, cpu: float) -> float:
        """``cpu`` seconds as a percentage of one core over the window."""
        return 100.0 * cpu / self.wall if self.wall > 0 else math.nan

    def load(self, received: float) -> Figures:
        """The server's CPU over the window, in % of a core and per chunk received."""
        return {
            "server_cpu_pct": self.pct(self.server_cpu),
            "server_cpu_us_per_chunk": per_chunk(self.server_cpu, received),
        }

    def common(self) -> Figures:
        """The figures every case reports: the client's CPU and everyone else's."""
        return {
            "client_cpu_pct": self.pct(self.client_cpu),
            "other_cpu_pct": self.pct(self.other_cpu),
        }


class Meter:
    """Starts a window: server, client and machine CPU and the wall clock."""

    def __init__(self, server: RunningServer) -> None:
        self._server = server
        self._server_cpu = server.cpu_seconds()
        self._client_cpu = time.process_time()
        self._busy = busy_seconds()
        self._wall = time.perf_counter()

    def stop(self) -> Window:
        """The window from creation until now."""
        wall = time.perf_counter() - self._wall
        server_cpu = self._server.cpu_seconds() - self._server_cpu
        client_cpu = time.process_time() - self._client_cpu
        other = busy_seconds() - self._busy - server_cpu - client_cpu
        return Window(wall, server_cpu, client_cpu, max(0.0, other))


async def open_many(server: RunningServer, user_ids: Sequence[str]) -> list[SseStream]:
    """One stream per user, in ``user_ids`` order, a bounded number opening at a time.

    Fails (closing what was opened) if any stream fails to open.
    """
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    streams: dict[int, SseStream] = {}

    async def one(index: int) -> None:
        async with gate, asyncio.timeout(NET_TIMEOUT):
            streams[index] = await open_stream(server.host, server.port, user_ids[index])

    try:
        async with asyncio.TaskGroup() as group:
            for index in range(len(user_ids)):
                group.create_task(one(index))
    except BaseException:
        close_all(list(streams.values()))
        raise
    return [streams[index] for index in range(len(user_ids))]


def close_all(streams: Sequence[SseStream]) -> None:
    """Hang up every stream."""
    for stream in streams:
        stream.close()


async def ask_status(server: RunningServer, user_id: str) -> int:
    """POST the benchmark question on a new connection: the status, 0 on failure or timeout."""
    try:
        async with asyncio.timeout(NET_TIMEOUT):
            return await ask(server.host, server.port, user_id, QUESTION)
    except TimeoutError:
        return 0


def _answered(stream: SseStream) -> bool:
    return stream.answered.done() and stream.answered.result()


def per_chunk(cpu: float, chunks: float) -> float:
    return 1e6 * cpu / chunks if chunks else math.nan


@dataclass(frozen=True)
class Throughput:
    """S1: one client, one long answer, no (or a token) delay: chunks per second end to end.

    With ``chunk_delay = 0`` a server may publish the whole answer in one burst; a
    1 µs delay makes both servers yield between chunks, which is the paced path
    every real answer takes.
    """

    chunks: int = 20_000
    chunk_bytes: int = 30
    chunk_delay: float = 0.0
    budget: float = 300.0
    protocol: str = CHAT_PAGE

    @property
    def case(self) -> str:
        paced = f" {self.chunk_delay * 1e6:g}µs" if self.chunk_delay else ""
        return f"S1 {self.chunks}{paced}"

    def server_config(self) -> ServerConfig:
        return ServerConfig(
            chunks=self.chunks, chunk_bytes=self.chunk_bytes, chunk_delay=self.chunk_delay
        )

    async def run(self, server: RunningServer) -> Measured:
        async with asyncio.timeout(NET_TIMEOUT):
            stream = await open_stream(server.host, server.port, "s1")
        try:
            meter = Meter(server)
            if await ask_status(server, "s1") == 202:
                await asyncio.wait([stream.answered], timeout=self.budget - 3 * NET_TIMEOUT)
            window = meter.stop()
        finally:
            stream.close()
        received = len(stream.chunk_times)
        return Measured(
            {
                "chunks_per_s": received / window.wall if received else math.nan,
                "server_cpu_us_per_chunk": per_chunk(window.server_cpu, received),
                "completed": float(received == self.chunks and _answered(stream)),
                **window.common(),
            }
        )


@dataclass(frozen=True)
class Concurrency:
    """S2: C connected users each ask once (spread over ``spread`` s): latency and lateness."""

    users: int
    chunks: int = 20
    chunk_delay: float = 0.05
    spread: float = 1.0
    grace: float = 30.0
    protocol: str = CHAT_PAGE

    @property
    def case(self) -> str:
        return f"S2 C={self.users}"

    @property
    def budget(self) -> float:
        return 120.0 + self.users * 0.05 + self.grace

    def server_config(self) -> ServerConfig:
        return ServerConfig(chunks=self.chunks, chunk_delay=self.chunk_delay)

    async def run(self, server: RunningServer) -> Measured:
        user_ids = [f"s2u{index}" for index in range(self.users)]
        streams = await open_many(server, user_ids)
        try:
            await asyncio.sleep(0.2)
            return await self._measure(server, user_ids, streams)
        finally:
            close_all(streams)

    async def _measure(
        self, server: RunningServer, user_ids: list[str], streams: list[SseStream]
    ) -> Measured:
        loop = asyncio.get_running_loop()
        asked_at = [math.nan] * self.users
        statuses = [0] * self.users
        began = time.perf_counter()
        meter = Meter(server)
        drops = listen_drops()
        start = loop.time() + 0.01

        async def ask_one(index: int) -> None:
            await asyncio.sleep(max(0.0, start + index * self.spread / self.users - loop.time()))
            asked_at[index] = time.perf_counter()
            statuses[index] = await ask_status(server, user_ids[index])

        asks = [asyncio.ensure_future(ask_one(index)) for index in range(self.users)]
        answer_time = self.chunks * self.chunk_delay
        await asyncio.wait(
            [stream.answered for stream in streams],
            timeout=self.spread + answer_time + self.grace,
        )
        window = meter.stop()
        drops = listen_drops() - drops
        for task in asks:
            task.cancel()
        await asyncio.gather(*asks, return_exceptions=True)
        figures = self._figures(streams, asked_at, statuses)
        figures |= window.load(figures.pop("received"))
        figures["listen_drops"] = float(drops)
        points = gap_points((s.chunk_times for s in streams), began, self.chunk_delay)
        return Measured({**figures, **window.common()}, lateness_series(points))

    def _figures(
        self,
        streams: list[SseStream],
        asked_at: list[float],
        statuses: list[int],
    ) -> Figures:
        first: list[float] = []
        late: list[float] = []
        complete = 0
        for stream, asked, status in zip(streams, asked_at, statuses, strict=True):
            times = stream.chunk_times
            if times and math.isfinite(asked):
                first.append(times[0] - asked)
            late.extend(b - a - self.chunk_delay for a, b in itertools.pairwise(times))
            if status == 202 and _answered(stream) and len(times) == self.chunks:
                complete += 1
        received = sum(len(stream.chunk_times) for stream in streams)
        return {
            "ttfc_p50_ms": 1e3 * percentile(first, 50),
            "ttfc_p99_ms": 1e3 * percentile(first, 99),
            "late_p50_ms": 1e3 * percentile(late, 50),
            "late_p99_ms": 1e3 * percentile(late, 99),
            "completed_frac": complete / self.users,
            "received": float(received),
        }


@dataclass(frozen=True)
class IdleCapacity:
    """S3: N idle streams held ``hold`` s with heartbeats on: memory per connection."""

    connections: int
    hold: float = 20.0
    heartbeat: float = 5.0
    protocol: str = CHAT_PAGE

    @property
    def case(self) -> str:
        return f"S3 N={self.connections}"

    @property
    def budget(self) -> float:
        return 120.0 + self.connections * 0.02 + self.hold

    def server_config(self) -> ServerConfig:
        return ServerConfig(chunks=1, heartbeat=self.heartbeat)

    async def run(self, server: RunningServer) -> Measured:
        empty = server.rss_bytes()
        user_ids = [f"s3u{index}" for index in range(self.connections)]
        streams = await open_many(server, user_ids)
        try:
            meter = Meter(server)
            await asyncio.sleep(self.hold)
            full = server.rss_bytes()
            window = meter.stop()
            still_open = sum(1 for stream in streams if stream.open)
            beating = sum(1 for stream in streams if stream.open and stream.heartbeats > 0)
        finally:
            close_all(streams)
        return Measured(
            {
                "kib_per_conn": (full - empty) / 1024 / self.connections,
                "connected_frac": still_open / self.connections,
                "heartbeat_frac": beating / self.connections,
                "server_rss_mib": full / 2**20,
                "server_cpu_pct": window.pct(window.server_cpu),
                **window.common(),
            }
        )


def full_suite() -> list[Scenario]:
    """The cases ``python -m bench`` runs."""
    return [
        Throughput(),
        Throughput(chunk_delay=PACED),
        *(Concurrency(users) for users in (100, 1000, 3000)),
        *(IdleCapacity(connections) for connections in (1000, 5000, 10_000)),
    ]


def quick_suite() -> list[Scenario]:
    """Small, fast cases for ``--quick`` (a smoke test of the harness, not a measurement)."""
    return [
        Throughput(chunks=2000),
        Throughput(chunks=2000, chunk_delay=PACED),
        Concurrency(50, grace=10.0),
        IdleCapacity(200, hold=2.0, heartbeat=0.5),
    ]

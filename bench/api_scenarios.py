"""The API axis: C concurrent streamed answers on an LLM protocol, paced or not.

Each of C clients opens its keep-alive connection first (not measured), then the C requests
go out evenly over ``spread`` seconds. Every server sends the same answer: ``chunks`` deltas
of ``chunk_bytes`` characters, ``chunk_delay`` apart (0 = unpaced).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from .configs import ServerConfig
from .llm_client import DIALECTS, CompletionStream, open_completion
from .scenarios import NET_TIMEOUT, Measured, Meter, gap_points, lateness_series
from .servers import RunningServer
from .stats import percentile

CONNECT_CONCURRENCY = 64
QUESTION = "benchmark question"
RSS_SAMPLE = 0.1  # seconds between samples of the server's memory
PACE = 0.02  # seconds between deltas in the paced cases


async def open_all(server: RunningServer, dialect: str, count: int) -> list[CompletionStream]:
    """``count`` connections, a bounded number opening at a time; all closed on failure."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    streams: list[CompletionStream] = []

    async def one() -> None:
        async with gate, asyncio.timeout(NET_TIMEOUT):
            streams.append(await open_completion(server.host, server.port, DIALECTS[dialect]))

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(count):
                group.create_task(one())
    except BaseException:
        for stream in streams:
            stream.close()
        raise
    return streams


@contextlib.asynccontextmanager
async def peak_rss(server: RunningServer) -> AsyncIterator[list[int]]:
    """Samples the server's RSS every RSS_SAMPLE s in the block; the list holds the peak."""
    peak = [server.rss_bytes()]

    async def sample() -> None:
        while True:
            await asyncio.sleep(RSS_SAMPLE)
            peak[0] = max(peak[0], server.rss_bytes())

    task = asyncio.create_task(sample())
    try:
        yield peak
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        peak[0] = max(peak[0], server.rss_bytes())


@dataclass(frozen=True)
class ApiLoad:
    """C users each stream one completion on ``dialect``: first chunk, lateness, CPU, RSS."""

    dialect: str
    users: int
    chunk_delay: float = PACE
    chunks: int = 20
    chunk_bytes: int = 30
    spread: float = 0.2
    grace: float = 30.0

    @property
    def case(self) -> str:
        pace = f"{self.chunk_delay * 1e3:g}ms" if self.chunk_delay else "unpaced"
        return f"{self.dialect} C={self.users} {pace}"

    @property
    def protocol(self) -> str:
        return self.dialect

    @property
    def budget(self) -> float:
        return 120.0 + self.users * 0.05 + self.grace

    def server_config(self) -> ServerConfig:
        return ServerConfig(
            chunks=self.chunks,
            chunk_bytes=self.chunk_bytes,
            chunk_delay=self.chunk_delay,
            first_chunk_delay=self.chunk_delay,
            api=True,
            dialect=self.dialect,
        )

    async def run(self, server: RunningServer) -> Measured:
        streams = await open_all(server, self.dialect, self.users)
        try:
            await asyncio.sleep(0.2)
            return await self._measure(server, streams)
        finally:
            for stream in streams:
                stream.close()

    async def _measure(self, server: RunningServer, streams: list[CompletionStream]) -> Measured:
        loop = asyncio.get_running_loop()
        dialect = DIALECTS[self.dialect]
        request = dialect.request(server.host, server.port, QUESTION)
        began = time.perf_counter()
        meter = Meter(server)
        start = loop.time() + 0.01
        for index, stream in enumerate(streams):
            loop.call_at(start + index * self.spread / self.users, stream.send, request)
        async with peak_rss(server) as peak:
            await asyncio.wait(
                [stream.ended for stream in streams],
                timeout=self.spread + self.chunks * self.chunk_delay + self.grace,
            )
        window = meter.stop()
        scripted = server.kind.paces_before_first.get(self.dialect, 0) * self.chunk_delay
        figures = self._figures(streams, scripted, server.kind.name)
        figures |= window.load(figures.pop("received"))
        figures["server_rss_mib"] = peak[0] / 2**20
        points = gap_points((s.chunk_times for s in streams), began, self.chunk_delay)
        behind = [
            (when - began, when - due)
            for stream in streams
            for when, due in zip(stream.chunk_times, self._schedule(stream, scripted), strict=False)
        ]
        series = {**lateness_series(points), **lateness_series(behind, "behind")}
        return Measured({**figures, **window.common()}, series)

    def _complete(self, stream: CompletionStream, answer: str) -> bool:
        """Ended well, with every delta, carrying exactly the answer's text."""
        ended = stream.ended.done() and stream.ended.result()
        return ended and len(stream.chunk_times) == self.chunks and stream.text == answer

    def _schedule(self, stream: CompletionStream, scripted: float) -> list[float]:
        """When each delta of ``stream`` is due: its scripted delay after the request was
        sent, then one pace after another."""
        first = stream.sent_at + scripted
        return [first + index * self.chunk_delay for index in range(self.chunks)]

    def _figures(
        self, streams: Sequence[CompletionStream], scripted: float, server: str
    ) -> dict[str, float]:
        answer = self.server_config().answer
        first: list[float] = []
        late: list[float] = []
        behind: list[float] = []
        drift: list[float] = []
        for stream in streams:
            times = stream.chunk_times
            if times:
                first.append(times[0] - stream.sent_at - scripted)
                late.extend(b - a - self.chunk_delay for a, b in itertools.pairwise(times))
                due = self._schedule(stream, scripted)
                behind.extend(when - at for when, at in zip(times, due, strict=False))
                drift.append(times[-1] - times[0] - (len(times) - 1) * self.chunk_delay)
        incomplete = [stream for stream in streams if not self._complete(stream, answer)]
        if incomplete:
            stream = incomplete[0]
            reason = stream.error or f"{len(stream.chunk_times)} chunks, {stream.text[:60]!r}"
            print(f"  {server}: {len(incomplete)} incomplete, e.g. {reason}", flush=True)
        complete = len(streams) - len(incomplete)
        return {
            "ttfc_p50_ms": 1e3 * percentile(first, 50),
            "ttfc_p99_ms": 1e3 * percentile(first, 99),
            "late_p50_ms": 1e3 * percentile(late, 50),
            "late_p99_ms": 1e3 * percentile(late, 99),
            "behind_p50_ms": 1e3 * percentile(behind, 50),
            "behind_p99_ms": 1e3 * percentile(behind, 99),
            "drift_p99_ms": 1e3 * percentile(drift, 99),
            "completed_frac": complete / len(streams) if streams else math.nan,
            "received": float(sum(len(stream.chunk_times) for stream in streams)),
        }


def api_full_suite() -> list[ApiLoad]:
    """The API cases of ``python -m bench``: every dialect, C=100 and 1000, paced and not."""
    return [
        ApiLoad(dialect, users, delay)
        for dialect in DIALECTS
        for users in (100, 1000)
        for delay in (PACE, 0.0)
    ]


def api_quick_suite() -> list[ApiLoad]:
    """Small API cases for ``--quick``: each dialect once, paced and not in turn."""
    return [
        ApiLoad(dialect, 20, PACE if index % 2 == 0 else 0.0, grace=10.0)
        for index, dialect in enumerate(DIALECTS)
    ]

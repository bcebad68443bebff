"""Prometheus metrics of one app, in a registry of its own (no global collectors).

The numbers are per process: with several workers each reports its own, and the
``/metrics`` output says so in every HELP text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

PER_PROCESS = " (this process only)"
LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LATENESS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class StateFigures:
    """What the app's state reports at each scrape."""

    users: int
    history_bytes: int
    users_evicted: int
    api_streams: Mapping[str, int]


class _StateCollector(Collector):
    """Figures read from the app's state at each scrape (memory, users, open API streams)."""

    def __init__(self, read: Callable[[], StateFigures]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        figures = self._read()
        yield GaugeMetricFamily(
            "qa_users", "Users whose stream state is kept" + PER_PROCESS, value=figures.users
        )
        yield GaugeMetricFamily(
            "qa_history_bytes",
            "Estimated bytes of kept users and their history" + PER_PROCESS,
            value=figures.history_bytes,
        )
        yield CounterMetricFamily(
            "qa_users_evicted",
            "Idle users evicted to keep history under limits.max_history_bytes" + PER_PROCESS,
            value=figures.users_evicted,
        )
        streams = GaugeMetricFamily(
            "qa_open_api_streams", "Open LLM API streams, by API" + PER_PROCESS, labels=["api"]
        )
        for api, count in sorted(figures.api_streams.items()):
            streams.add_metric([api], count)
        yield streams


class Metrics:
    """The counters, gauges and histograms the server keeps."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        # The process's memory, descriptors and collector, as Prometheus clients name them.
        ProcessCollector(registry=registry)
        GCCollector(registry=registry)
        self.open_connections = Gauge(
            "qa_open_connections", "Open SSE connections" + PER_PROCESS, registry=registry
        )
        self.connections_closed = Counter(
            "qa_connections_closed",
            "SSE connections closed, by reason" + PER_PROCESS,
            ["reason"],
            registry=registry,
        )
        self.questions = Counter(
            "qa_questions",
            "Questions answered, by outcome" + PER_PROCESS,
            ["outcome"],
            registry=registry,
        )
        self.events_published = Counter(
            "qa_events_published",
            "Events published to user streams" + PER_PROCESS,
            registry=registry,
        )
        self.slow_consumers = Counter(
            "qa_slow_consumers_dropped",
            "Connections closed because they fell behind" + PER_PROCESS,
            registry=registry,
        )
        self.requests_refused = Counter(
            "qa_requests_refused",
            "Requests refused by a limit, by error code" + PER_PROCESS,
            ["code"],
            registry=registry,
        )
        self.first_chunk_seconds = Histogram(
            "qa_time_to_first_chunk_seconds",
            "Time from accepting a question to its first chunk" + PER_PROCESS,
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.chunk_lateness_seconds = Histogram(
            "qa_chunk_lateness_seconds",
            "Actual gap between chunks minus the configured delay" + PER_PROCESS,
            buckets=LATENESS_BUCKETS,
            registry=registry,
        )

        self.generations = Counter(
            "qa_generations",
            "LLM API generations, by API and outcome" + PER_PROCESS,
            ["api", "outcome"],
            registry=registry,
        )
        self.generation_deltas = Counter(
            "qa_generation_deltas",
            "Text deltas sent by LLM API generations, by API" + PER_PROCESS,
            ["api"],
            registry=registry,
        )
        self.time_to_first_token_seconds = Histogram(
            "qa_time_to_first_token_seconds",
            "Time from accepting an LLM API request to its first text delta" + PER_PROCESS,
            ["api"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe_state(self, read: Callable[[], StateFigures]) -> None:
        """Report the figures ``read()`` returns at each scrape (see :class:`_StateCollector`)."""
        self.registry.register(_StateCollector(read))

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

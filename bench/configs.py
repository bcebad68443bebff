"""Render a scenario's server config as the TOML file both servers read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerConfig:
    """The keys a scenario sets (all durations in seconds); see quart_qa/config.py."""

    chunks: int
    chunk_bytes: int = 30
    chunk_delay: float = 0.0
    first_chunk_delay: float = 0.0
    heartbeat: float = 15.0
    answer_timeout: float = 600.0
    api: bool = False  # the LLM API cases: no rate limit, model "bench" sending a delta a part
    dialect: str = ""  # the API case's protocol (a peer may need its own command for one)

    @property
    def answer(self) -> str:
        """The whole answer text every server sends."""
        return "".join(part(index, self.chunk_bytes) for index in range(self.chunks))


def part(index: int, size: int) -> str:
    """The ``index``-th answer piece: ASCII, exactly ``size`` bytes, numbered for debugging."""
    label = f"{index:07d} "
    return (label + "x" * size)[:size]


# Every user of a case connects from the load client's one address, as behind a proxy; S3's
# largest case holds 10,000 streams plus its warm-up connection (the default cap is 10,000).
LIMITS = """
[limits]
new_users_per_minute = 0
max_connections = 20000
"""

API_TABLES = """asks_per_minute = 0

[models.bench]
deltas = "part"
"""


def render(config: ServerConfig) -> str:
    """TOML with one ``[stream]`` table, no limit on new user ids per address, and one
    default ``[[answers]]`` rule (and, for the API cases, no rate limit and the model
    ``bench``)."""
    parts = ",\n".join(f'  "{part(i, config.chunk_bytes)}"' for i in range(config.chunks))
    return (
        "[stream]\n"
        f"chunk_delay = {config.chunk_delay!r}\n"
        f"first_chunk_delay = {config.first_chunk_delay!r}\n"
        f"heartbeat = {config.heartbeat!r}\n"
        f"answer_timeout = {config.answer_timeout!r}\n"
        + LIMITS
        + (API_TABLES if config.api else "")
        + "\n[[answers]]\n"
        f"parts = [\n{parts},\n]\n"
    )

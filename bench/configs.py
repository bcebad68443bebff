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


def part(index: int, size: int) -> str:
    """The ``index``-th answer piece: ASCII, exactly ``size`` bytes, numbered for debugging."""
    label = f"{index:07d} "
    return (label + "x" * size)[:size]


def render(config: ServerConfig) -> str:
    """TOML with one ``[stream]`` table and one default ``[[answers]]`` rule."""
    parts = ",\n".join(f'  "{part(i, config.chunk_bytes)}"' for i in range(config.chunks))
    return (
        "[stream]\n"
        f"chunk_delay = {config.chunk_delay!r}\n"
        f"first_chunk_delay = {config.first_chunk_delay!r}\n"
        f"heartbeat = {config.heartbeat!r}\n"
        f"answer_timeout = {config.answer_timeout!r}\n"
        "\n[[answers]]\n"
        f"parts = [\n{parts},\n]\n"
    )

"""``--speed``: every wait of a demo divided, the model's side included (0: no waits)."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import replace

from ..settings.config import Settings


def speed(text: str) -> float:
    """``--speed``: a number, at least 0."""
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


class Clock:
    """The demo's own waits, divided by ``--speed`` (0: no waits)."""

    def __init__(self, speed: float) -> None:
        self.factor = 0.0 if speed == 0 else 1 / speed

    async def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` at this speed; not at all at speed 0."""
        if seconds * self.factor > 0:
            await asyncio.sleep(seconds * self.factor)


def scale_pace(settings: Settings, factor: float) -> Settings:
    """``settings`` with every answer delay multiplied by ``factor`` (0: no waits at all).

    ``answer_timeout`` scales too, so a rule written to run into it still does (at 0 it is
    off, like every other wait).
    """
    stream = replace(
        settings.stream,
        chunk_delay=settings.stream.chunk_delay * factor,
        first_chunk_delay=settings.stream.first_chunk_delay * factor,
        answer_timeout=settings.stream.answer_timeout * factor,
    )
    rules = tuple(
        replace(
            rule,
            delay=None if rule.delay is None else rule.delay * factor,
            first_chunk_delay=(
                None if rule.first_chunk_delay is None else rule.first_chunk_delay * factor
            ),
        )
        for rule in settings.answers
    )
    models = tuple(
        replace(
            model,
            ttft=None if model.ttft is None else model.ttft * factor,
            tokens_per_second=(
                None
                if model.tokens_per_second is None or factor == 0
                else model.tokens_per_second / factor
            ),
        )
        for model in settings.models
    )
    return replace(settings, stream=stream, answers=rules, models=models)

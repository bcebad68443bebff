"""``--speed`` on the embedded server: every wait of the model's side scaled, 0 meaning none."""

from __future__ import annotations

from pathlib import Path

from quart_qa.commands.speed import Clock, scale_pace
from quart_qa.settings.config import load_settings
from quart_qa.streaming.completions import Pace, plan_answer

LLM_MODELS = Path(__file__).resolve().parents[2] / "config" / "llm-models.toml"


def test_speed_0_leaves_no_wait_anywhere() -> None:
    settings = scale_pace(load_settings(LLM_MODELS), 0)
    assert settings.stream.chunk_delay == settings.stream.first_chunk_delay == 0
    for rule in settings.answers:
        assert not rule.delay
        assert not rule.first_chunk_delay
        for model in (None, *settings.models):
            pace = Pace.resolve(settings.stream, rule, model)
            assert not any(pace.waits(plan_answer(rule).deltas))
    assert Clock(0).factor == 0


def test_speed_2_halves_every_wait() -> None:
    original = load_settings(LLM_MODELS)
    halved = scale_pace(original, 1 / 2)
    for rule, fast_rule in zip(original.answers, halved.answers, strict=True):
        for model, fast_model in zip(original.models, halved.models, strict=True):
            waits = Pace.resolve(original.stream, rule, model).waits(plan_answer(rule).deltas)
            fast = Pace.resolve(halved.stream, fast_rule, fast_model).waits(
                plan_answer(fast_rule).deltas
            )
            assert fast == [wait / 2 for wait in waits]

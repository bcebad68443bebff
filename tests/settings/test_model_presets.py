"""The ``[models]`` section: presets, defaults, and one clear error for every bad value."""

from __future__ import annotations

import pytest

from quart_qa.settings.config import Settings, load_settings, settings_from_mapping
from quart_qa.settings.errors import ConfigError
from quart_qa.settings.model_presets import DEFAULT_MODEL, ModelPreset, find_model, listed_models
from tests.support.apps import ROOT


def test_no_models_section_accepts_any_name() -> None:
    settings = Settings()
    assert settings.models == ()
    assert find_model(settings.models, "gpt-4o-mini") == ModelPreset("gpt-4o-mini")
    assert listed_models(settings.models) == (ModelPreset(DEFAULT_MODEL),)


def test_presets_are_read_in_order() -> None:
    settings = settings_from_mapping(
        {
            "models": {
                "fast": {"ttft": 0.1, "tokens_per_second": 200},
                "gpt-4.1": {"ttft": 2, "tokens_per_second": 8, "jitter": 0.5, "seed": -3},
                "parts": {"deltas": "part"},
                "plain": {},
            }
        }
    )
    assert settings.models == (
        ModelPreset("fast", ttft=0.1, tokens_per_second=200.0),
        ModelPreset("gpt-4.1", ttft=2.0, tokens_per_second=8.0, jitter=0.5, seed=-3),
        ModelPreset("parts", deltas="part"),
        ModelPreset("plain"),
    )
    assert find_model(settings.models, "fast") == settings.models[0]
    assert find_model(settings.models, "unknown") is None
    assert listed_models(settings.models) == settings.models


def test_shipped_llm_models_config() -> None:
    settings = load_settings(ROOT / "config" / "llm-models.toml")
    by_name = {model.name: model for model in settings.models}
    fast, slow = by_name["quart-qa-fast"], by_name["quart-qa-slow"]
    assert fast.ttft is not None
    assert slow.ttft is not None
    assert fast.tokens_per_second is not None
    assert slow.tokens_per_second is not None
    assert fast.ttft < slow.ttft
    assert fast.tokens_per_second > slow.tokens_per_second
    assert slow.jitter > 0
    assert slow.seed is not None
    assert by_name["quart-qa-parts"].deltas == "part"


def test_describe() -> None:
    model = ModelPreset("slow", ttft=1.5, tokens_per_second=8, jitter=0.25, seed=7)
    assert model.describe() == "slow: ttft 1.5s, 8 tokens/s, jitter ±25%, seed 7, deltas by token"


@pytest.mark.parametrize(
    ("models", "message"),
    [
        ({}, "models: names no model"),
        ([], "models: must be a table of [models.<name>] tables"),
        ({"fast": 3}, "models.fast: must be a table ([models.fast]), got int 3"),
        ({"fast": {"speed": 3}}, "models.fast.speed: unknown key (known keys: deltas, jitter"),
        ({"fast": {"ttft": -1}}, "models.fast.ttft: must be >= 0, got -1"),
        ({"fast": {"ttft": "1s"}}, "models.fast.ttft: must be a number, got str '1s'"),
        ({"fast": {"ttft": True}}, "models.fast.ttft: must be a number, got bool True"),
        ({"fast": {"ttft": float("inf")}}, "models.fast.ttft: must be a finite number, got inf"),
        (
            {"fast": {"tokens_per_second": float("nan")}},
            "models.fast.tokens_per_second: must be a finite number",
        ),
        ({"fast": {"tokens_per_second": 0}}, "models.fast.tokens_per_second: must be > 0, got 0"),
        ({"fast": {"jitter": 1.5}}, "models.fast.jitter: must be between 0 and 1"),
        ({"fast": {"seed": 1.5}}, "models.fast.seed: must be an integer, got float 1.5"),
        ({"fast": {"deltas": "word"}}, "models.fast.deltas: must be one of 'token', 'part'"),
        ({"gpt-4.1": {"speed": 1}}, 'models."gpt-4.1".speed: unknown key'),
        ({"has space": {}}, 'models."has space": a model name must be 1-256 characters'),
    ],
)
def test_bad_models_name_the_key(models: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"models": models}, source="test.toml")
    assert str(caught.value).startswith(f"test.toml: {message}"), str(caught.value)


def test_unknown_section_lists_models() -> None:
    with pytest.raises(ConfigError, match=r"known sections: .*models"):
        settings_from_mapping({"model": {}})

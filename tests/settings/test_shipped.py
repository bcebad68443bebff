"""Shipped configs are found by name; anything else is a file path or a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from quart_qa.settings.errors import ConfigError
from quart_qa.settings.shipped import SHIPPED_CONFIG_DIR, config_file, shipped_configs
from tests.support.apps import ROOT

REPO_CONFIGS = sorted((ROOT / "config").glob("*.toml"))


def test_in_a_checkout_the_shipped_configs_are_the_repos() -> None:
    assert SHIPPED_CONFIG_DIR.resolve() == (ROOT / "config").resolve()
    assert [config.name for config in shipped_configs()] == [path.stem for path in REPO_CONFIGS]


def test_each_config_is_summed_up_by_its_first_comment_line() -> None:
    summaries = {config.name: config.summary for config in shipped_configs()}
    assert summaries["failure-demo"] == (
        "Failure demos: a model that breaks mid-answer, and one too slow for its time limit."
    )
    assert all(summaries.values())


def test_a_name_finds_the_shipped_config() -> None:
    assert config_file("english-demo") == SHIPPED_CONFIG_DIR / "english-demo.toml"


def test_an_existing_file_wins_over_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "english-demo").write_text("[stream]\n", encoding="utf-8")
    assert config_file("english-demo") == Path("english-demo")
    assert config_file(str(ROOT / "config" / "default.toml")) == ROOT / "config" / "default.toml"


@pytest.mark.parametrize("wanted", ["no-such-config", "config/english-demo", "../english-demo"])
def test_anything_else_names_the_shipped_configs(wanted: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_file(wanted)
    message = str(caught.value)
    assert message.startswith(f"{wanted}: no such file, nor a shipped config of that name")
    assert "english-demo" in message

"""The app factory: apps are independent and read their config as documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from quart_qa import create_app
from quart_qa.settings.config import Settings
from quart_qa.settings.errors import ConfigError
from quart_qa.web.state import get_state
from tests.support.apps import fast_settings
from tests.support.sse_reader import open_stream


async def test_apps_do_not_share_state() -> None:
    first, second = create_app(fast_settings()), create_app(fast_settings())
    async with first.test_app(), second.test_app(), open_stream(first.test_client(), "u1"):
        assert get_state(first).registry.connections == 1
        assert get_state(second).registry.connections == 0
        response = await second.test_client().post("/qa/ask/u1", json={"question": "q"})
        assert response.status_code == 404


def test_without_settings_uses_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QA_CONFIG", raising=False)
    assert get_state(create_app()).settings == Settings()


def test_qa_config_env_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[stream]\nchunk_delay = 0.25\n", encoding="utf-8")
    monkeypatch.setenv("QA_CONFIG", str(path))
    assert get_state(create_app()).settings.stream.chunk_delay == 0.25


def test_qa_config_env_var_bad_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[stream]\nchunk_delay = -1\n", encoding="utf-8")
    monkeypatch.setenv("QA_CONFIG", str(path))
    with pytest.raises(ConfigError, match=r"stream\.chunk_delay"):
        create_app()

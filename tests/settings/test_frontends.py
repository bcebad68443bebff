"""The ``[frontends]`` section: where the AI SDK and AG-UI endpoints are served."""

from __future__ import annotations

import pytest

from quart_qa.settings.config import settings_from_mapping
from quart_qa.settings.errors import ConfigError


def test_defaults_and_overrides() -> None:
    assert settings_from_mapping({}).frontends.ai_sdk_path == "/api/chat"
    moved = settings_from_mapping({"frontends": {"ai_sdk_path": "/chat", "agui_path": ""}})
    assert (moved.frontends.ai_sdk_path, moved.frontends.agui_path) == ("/chat", "")


@pytest.mark.parametrize(
    ("section", "key", "problem"),
    [
        ({"ai_sdk_path": "api/chat"}, "frontends.ai_sdk_path", "a path like"),
        ({"ai_sdk_path": "/api/chat/"}, "frontends.ai_sdk_path", "a path like"),
        ({"agui_path": "/a/<name>"}, "frontends.agui_path", "a path like"),
        ({"agui_path": "/qa/agui"}, "frontends.agui_path", "already used"),
        ({"ai_sdk_path": "/v1/chat"}, "frontends.ai_sdk_path", "already used"),
        ({"ai_sdk_path": "/x", "agui_path": "/x"}, "frontends.agui_path", "must differ"),
        ({"ai_sdk_path": 3}, "frontends.ai_sdk_path", "must be a string"),
        ({"path": "/x"}, "frontends.path", "unknown key"),
    ],
)
def test_bad_paths_name_the_key(section: dict[str, object], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({"frontends": section}, source="qa.toml")
    assert key in str(caught.value)
    assert problem in str(caught.value)

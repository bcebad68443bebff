"""Demo scripts: the conversation is validated like the config, the rest is the server's config."""

from __future__ import annotations

from pathlib import Path

import pytest

from quart_qa.commands.demo_script import SHIPPED_DEMO_DIR, load_demo
from quart_qa.settings.config import load_settings
from quart_qa.settings.errors import ConfigError

SCRIPT = """
[demo]
title = "t"
typing = 0.5

[[conversation]]
question = "first"

[[conversation]]
question = "second"
pause = 0

[stream]
chunk_delay = 0.25

[[answers]]
parts = ["only"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_script_holds_the_conversation_and_the_server_config(tmp_path: Path) -> None:
    script = load_demo(write(tmp_path, SCRIPT))
    assert [turn.question for turn in script.turns] == ["first", "second"]
    assert [script.pause(turn) for turn in script.turns] == [1.0, 0.0]
    assert script.typing(script.turns[0]) == 0.5
    assert script.settings.stream.chunk_delay == 0.25
    assert script.settings.answers[0].parts == ("only",)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (SCRIPT.replace('question = "first"', 'question = "  "'), "conversation[0].question"),
        (SCRIPT.replace("pause = 0", "pause = -1"), "conversation[1].pause"),
        (SCRIPT.replace('title = "t"', 'colour = "red"'), "demo.colour"),
        (SCRIPT.replace("[demo]", '[demo]\napi = "grpc"'), "demo.api"),
        (SCRIPT.replace("chunk_delay = 0.25", "chunk_dealy = 0.25"), "stream.chunk_dealy"),
        ("[demo]\n", "conversation"),
    ],
)
def test_mistakes_name_the_file_and_the_key(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_demo(path)
    assert str(path) in str(raised.value)
    assert where in str(raised.value)


def test_the_server_loads_a_demo_script_as_its_config(tmp_path: Path) -> None:
    path = write(tmp_path, SCRIPT)
    assert load_settings(path) == load_demo(path).settings


def test_a_shipped_demo_is_found_by_name() -> None:
    assert (
        load_demo("seed-zh").demo.title == load_demo(SHIPPED_DEMO_DIR / "seed-zh.toml").demo.title
    )

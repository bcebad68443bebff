"""Pre-encoded frames give, byte for byte, what the full encoder gives."""

from __future__ import annotations

import json

import pytest

from quart_qa.streaming.frames import TextFrame
from quart_qa.streaming.sse import encode_event


def full(text: str) -> bytes:
    document = {"id": "x", "choices": [{"delta": {"content": text}, "finish_reason": None}]}
    return encode_event(json.dumps(document, ensure_ascii=False, separators=(",", ":")))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain",
        'quote " backslash \\',
        "line\nbreak\r\n",
        "nul \x00 tab \t",
        "é 中文 😀",
        "lone \ud800 surrogate",
        "\u2028 \u2029",
        '"x"',
    ],
)
def test_a_template_frame_is_the_full_encoding(text: str) -> None:
    assert TextFrame(full)(text) == full(text)


def test_a_template_needs_its_text_once_as_a_json_string() -> None:
    with pytest.raises(ValueError, match="once"):
        TextFrame(lambda text: encode_event(json.dumps([text, text])))

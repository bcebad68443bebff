"""Pre-encoded frames give, byte for byte, what the full encoder gives."""

from __future__ import annotations

import json

import pytest

from quart_qa.streaming.frames import Template, TextFrame
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


def numbered(number: int | str, text: str, name: str) -> bytes:
    document = {"type": "delta", "sequence_number": number, "name": name, "delta": text}
    return encode_event(json.dumps(document, ensure_ascii=False, separators=(",", ":")), event="d")


@pytest.mark.parametrize("text", ["", 'quote " and \\', "é 😀 \n", "\u2028"])
@pytest.mark.parametrize("number", [0, 7, 12345])
def test_a_template_fills_strings_and_integers_in_any_order(number: int, text: str) -> None:
    template = Template(lambda n, t, name: numbered(n, t, name), 3)
    assert template(number, text, "a\tb") == numbered(number, text, "a\tb")
    swapped = Template(lambda t, n, name: numbered(n, t, name), 3)
    assert swapped(text, number, "x") == numbered(number, text, "x")


def test_a_templates_text_frame_fixes_every_value_but_the_last() -> None:
    template = Template(lambda name, n, t: numbered(n, t, name), 3)
    frame = template.text_frame('id "1"', 42)
    assert frame("hé\n") == numbered(42, "hé\n", 'id "1"')


def test_a_template_needs_each_value_once() -> None:
    with pytest.raises(ValueError, match="once"):
        Template(lambda n, t: numbered(n, t, t), 2)
    with pytest.raises(ValueError, match="slots"):
        Template(lambda: b"", 0)


def test_a_template_refuses_a_boolean_for_a_number() -> None:
    template = Template(lambda n, t: numbered(n, t, "x"), 2)
    with pytest.raises(TypeError):
        template(True, "text")

"""Splitting answer texts into pieces."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quart_qa.settings.answers import CHUNK_MODES, ChunkBy, split_text
from quart_qa.streaming.answer_runner import render


@pytest.mark.parametrize(
    ("text", "mode", "pieces"),
    [
        ("Hello big world", "word", ("Hello ", "big ", "world")),
        ("  lead and trail  ", "word", ("  lead ", "and ", "trail  ")),
        ("ab", "char", ("a", "b")),
        ("One. Two! Three? Four", "sentence", ("One. ", "Two! ", "Three? ", "Four")),
        ("你好。再见!", "sentence", ("你好。", "再见!")),
        ("line one\nline two", "sentence", ("line one\n", "line two")),
    ],
)
def test_split_text(text: str, mode: ChunkBy, pieces: tuple[str, ...]) -> None:
    assert split_text(text, mode) == pieces


@given(st.text(min_size=1), st.sampled_from(CHUNK_MODES))
def test_pieces_join_back_to_the_text(text: str, mode: ChunkBy) -> None:
    pieces = split_text(text, mode)
    assert "".join(pieces) == text
    assert all(pieces)


def test_render_substitutes_known_placeholders_once() -> None:
    assert render("{user_id}: {question} {other}", user_id="u", question="{user_id}") == (
        "u: {user_id} {other}"
    )

"""What ``record`` writes: exact-match rules, no secrets, a file the server's loader accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from quart_qa.commands.pieces import Text
from quart_qa.commands.recording import Exchange, Recording, exact_match, safe_url
from quart_qa.settings.config import settings_from_mapping


def test_a_recorded_question_is_matched_exactly() -> None:
    question = "What is 1+1? (really) [x] $5 ^_^ a|b {2} \\"
    pattern = re.compile(exact_match(question), re.IGNORECASE)
    assert pattern.search(question)
    assert pattern.search(question.upper())
    assert not pattern.search(question + " more")
    assert not pattern.search("What is 11? (really) [x] $5 ^_^ a|b {2} \\")


def test_the_upstream_is_written_without_credentials_or_query() -> None:
    assert safe_url("https://user:sk-123@api.example:8443/v1?key=sk-456#x") == (
        "https://api.example:8443/v1"
    )


def test_a_failed_answer_keeps_its_failure_and_the_file_loads(tmp_path: Path) -> None:
    exchange = Exchange("openai", "q", "m", streamed=True, started=0.0)
    exchange.pieces = [(0.5, Text("one ")), (0.7, Text("two"))]
    exchange.error = "overloaded"
    recording = Recording(tmp_path / "out.toml", "http://upstream")
    recording.add(exchange)
    settings = settings_from_mapping(tomllib.loads(recording.out.read_text(encoding="utf-8")))
    rule = settings.answers[0]
    assert rule.parts == ("one ", "two")
    assert (rule.first_chunk_delay, rule.delay) == (0.5, 0.2)
    assert (rule.fail_after, rule.error) == (2, "overloaded")
    assert settings.answers[-1].match is None

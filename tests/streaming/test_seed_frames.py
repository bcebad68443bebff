"""The chat page's events for an answer's steps (streaming/seed_frames.py)."""

from __future__ import annotations

import json

import pytest

from quart_qa.settings.answer_parsing import rule_from_mapping
from quart_qa.streaming.completions import tokenize
from quart_qa.streaming.seed_frames import seed_frames

RULE = rule_from_mapping(
    {
        "steps": [
            {"reasoning": "Let me think."},
            {"tool": "get_weather", "arguments": {"city": "Paris"}, "output": {"sky": "sunny"}},
            {"tool": "notify", "arguments": {"who": "me"}},
            {"text": "Sunny."},
        ]
    },
    "answers[0]",
)


def test_text_only_rules_send_only_answer_chunks() -> None:
    rule = rule_from_mapping({"parts": ["a", "b"]}, "answers[0]")
    frames = list(seed_frames(rule))
    assert [(frame.event, frame.data, frame.part) for frame in frames] == [
        ("ANSWER_CHUNK", "a", 0),
        ("ANSWER_CHUNK", "b", 1),
    ]


def test_every_step_becomes_events() -> None:
    frames = list(seed_frames(RULE))
    events = [frame.event for frame in frames]
    arguments = '{"city":"Paris"}'
    pieces = len(tokenize(arguments))
    assert events == [
        "REASONING_CHUNK",
        "REASONING_CHUNK",
        "REASONING_CHUNK",
        "TOOL_CALL_START",
        *["TOOL_CALL_ARGS"] * pieces,
        "TOOL_CALL_END",
        "TOOL_RESULT",
        "TOOL_CALL_START",
        *["TOOL_CALL_ARGS"] * len(tokenize('{"who":"me"}')),
        "TOOL_CALL_END",
        "ANSWER_CHUNK",
    ]
    weather = [json.loads(frame.data) for frame in frames if frame.event.startswith("TOOL")][
        : pieces + 3
    ]
    call_id = weather[0]["id"]
    assert weather[0] == {"id": call_id, "name": "get_weather"}
    assert "".join(piece["delta"] for piece in weather[1:-2]) == arguments
    assert weather[-2] == {"id": call_id, "arguments": {"city": "Paris"}}
    assert weather[-1] == {"id": call_id, "output": {"sky": "sunny"}}


def test_argument_pieces_share_one_chunk_delay_and_framing_waits_for_nothing() -> None:
    frames = list(seed_frames(RULE))
    args = [frame for frame in frames if frame.event == "TOOL_CALL_ARGS"][:3]
    shares = sum(frame.share for frame in frames if frame.event == "TOOL_CALL_ARGS")
    assert shares == pytest.approx(2)
    assert {frame.part for frame in args} == {3}  # one rule part: the arguments
    framing = [frame for frame in frames if frame.event in ("TOOL_CALL_START", "TOOL_RESULT")]
    assert {frame.share for frame in framing} == {0}


def test_parts_are_numbered_across_steps_for_fail_after() -> None:
    parts = [frame.part for frame in seed_frames(RULE) if frame.share == 1]
    assert parts == [0, 1, 2, 5]

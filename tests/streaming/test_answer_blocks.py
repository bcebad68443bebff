"""Answers in blocks: reasoning, text, tool calls and objects, planned and played."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

from quart_qa.settings.answer_parsing import rule_from_mapping
from quart_qa.settings.answers import AnswerRule, Step
from quart_qa.streaming.completions import Pace, plan_answer
from quart_qa.streaming.playback import (
    BlockEnd,
    BlockStart,
    Failed,
    Finished,
    Piece,
    PlayEvent,
    collect,
    play,
)

AGENT = rule_from_mapping(
    {
        "steps": [
            {"reasoning": "Think first. "},
            {"reasoning": "Then more."},
            {"tool": "get_weather", "arguments": {"city": "Paris"}},
            {"tool": "get_time", "arguments": {"zone": "CET"}},
            {"text": "Done, see above."},
        ]
    },
    "answers[0]",
)


async def events_of(rule: AnswerRule, **options: object) -> list[PlayEvent]:
    plan = plan_answer(rule, **options)  # type: ignore[arg-type]
    async with asyncio.timeout(5), aclosing(play(plan, Pace())) as events:
        return [event async for event in events]


def test_consecutive_reasoning_steps_make_one_block() -> None:
    plan = plan_answer(AGENT)
    kinds = [planned.block.kind for planned in plan.blocks]
    assert kinds == ["reasoning", "tool_call", "tool_call", "text"]
    assert [planned.block.index for planned in plan.blocks] == [0, 1, 2, 3]
    assert plan.blocks[0].text == "Think first. Then more."
    assert plan.blocks[1].text == '{"city":"Paris"}'
    assert plan.text == "Done, see above."  # the answer text leaves reasoning and calls out


def test_tool_calls_are_numbered_and_end_the_answer_with_tool_calls() -> None:
    plan = plan_answer(AGENT)
    calls = [planned.block.call for planned in plan.blocks if planned.block.call is not None]
    assert [(call.index, call.name) for call in calls] == [(0, "get_weather"), (1, "get_time")]
    assert calls[0].id != calls[1].id
    assert plan.finish == "tool_calls"
    # Tool arguments stream in token-sized fragments.
    assert [delta.text for delta in plan.blocks[1].deltas] == [
        "{",
        '"',
        "city",
        '"',
        ":",
        '"',
        "Paris",
        '"',
        "}",
    ]


def test_fail_after_counts_the_parts_of_every_step() -> None:
    rule = AnswerRule(AGENT.steps, fail_after=5, error="broke")  # 4 reasoning parts, 1 call
    plan = plan_answer(rule)
    assert plan.finish is None
    assert [planned.block.kind for planned in plan.blocks] == ["reasoning", "tool_call"]


def test_max_tokens_counts_every_block_and_cuts_the_rest() -> None:
    reasoning_tokens = len(plan_answer(AGENT).blocks[0].deltas)
    plan = plan_answer(AGENT, max_tokens=reasoning_tokens + 2)
    assert plan.finish == "length"
    assert [planned.block.kind for planned in plan.blocks] == ["reasoning", "tool_call"]
    assert plan.blocks[1].text == '{"'
    exact = plan_answer(AGENT, max_tokens=reasoning_tokens)
    assert exact.finish == "length"  # more was to come: a cut, not a natural end
    assert len(exact.blocks) == 1


def test_stop_sequences_apply_to_the_answer_text_only() -> None:
    rule = AnswerRule(
        (Step("reasoning", ("Stop here? ", "No.")), Step("text", ("Go on. ", "Stop here.")))
    )
    plan = plan_answer(rule, stop=["Stop"])
    assert plan.finish == "stop_sequence"
    assert plan.blocks[0].text == "Stop here? No."
    assert plan.text == "Go on. "


async def test_play_opens_and_closes_every_block() -> None:
    events = await events_of(AGENT)
    plan_blocks = [event.block for event in events if isinstance(event, BlockStart)]
    assert [block.kind for block in plan_blocks] == ["reasoning", "tool_call", "tool_call", "text"]
    # Each block: start, its pieces, its end with the whole text; then one Finished.
    position = 0
    for block in plan_blocks:
        assert events[position] == BlockStart(block)
        position += 1
        pieces = []
        while isinstance(events[position], Piece):
            piece = events[position]
            assert isinstance(piece, Piece)
            assert piece.block == block
            pieces.append(piece.text)
            position += 1
        assert events[position] == BlockEnd(block, "".join(pieces))
        position += 1
    end = events[position]
    assert position == len(events) - 1
    assert isinstance(end, Finished)
    assert end.reason == "tool_calls"
    reasoning = sum(1 for e in events if isinstance(e, Piece) and e.block.kind == "reasoning")
    assert end.reasoning_tokens == reasoning
    assert end.output_tokens == sum(1 for e in events if isinstance(e, Piece))


async def test_a_failure_inside_a_tool_call_leaves_it_open() -> None:
    events = await events_of(AnswerRule(AGENT.steps, fail_after=5, error="broke"))
    assert isinstance(events[-1], Failed)
    assert events[-1].message == "broke"
    assert isinstance(events[-2], Piece)
    assert events[-2].block.kind == "tool_call"
    assert sum(1 for event in events if isinstance(event, BlockEnd)) == 1  # the reasoning only


async def test_collect_gathers_each_block() -> None:
    async with aclosing(play(plan_answer(AGENT), Pace())) as events:
        collected = await collect(events)
    assert collected.reasoning == "Think first. Then more."
    assert collected.text == "Done, see above."
    assert [(call.name, text) for call, text in collected.tool_calls] == [
        ("get_weather", '{"city":"Paris"}'),
        ("get_time", '{"zone":"CET"}'),
    ]
    assert isinstance(collected.end, Finished)
    assert collected.end.reason == "tool_calls"

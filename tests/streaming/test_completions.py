"""Token counting, answer plans, pace resolution and playback, without a web layer."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quart_qa.settings.answer_parsing import rule_from_mapping
from quart_qa.settings.answers import AnswerRule, Step
from quart_qa.settings.config import StreamSettings
from quart_qa.settings.model_presets import ModelPreset
from quart_qa.streaming.completions import (
    AnswerPlan,
    Block,
    Pace,
    PlannedDelta,
    count_tokens,
    plan_answer,
    tokenize,
)
from quart_qa.streaming.playback import (
    BlockEnd,
    BlockStart,
    Failed,
    Finished,
    KeepAlive,
    Piece,
    PlayEvent,
    collect,
    play,
)

GREETING = rule_from_mapping({"text": "Hello there! This is a scripted answer."}, "answers[0]")
TEXT = Block(0, "text")


def text_rule(parts: tuple[str, ...], **options: Any) -> AnswerRule:
    return AnswerRule((Step("text", parts),), **options)


@given(st.text())
def test_tokens_join_back_to_the_text(text: str) -> None:
    tokens = tokenize(text)
    assert "".join(tokens) == text
    assert all(tokens)
    assert count_tokens(text) == len(tokens)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello, world!", ("Hello", ",", " world", "!")),
        ("in 2024.", ("in", " 202", "4", ".")),
        ("这是回答。", ("这", "是", "回", "答", "。")),
        ("a  b\n", ("a", "  b", "\n")),
        ("snake_case", ("snake", "_", "case")),
        ("", ()),
    ],
)
def test_tokenize_splits_words_numbers_punctuation_and_cjk(
    text: str, tokens: tuple[str, ...]
) -> None:
    assert tokenize(text) == tokens


def test_plan_tokenizes_across_part_boundaries() -> None:
    plan = plan_answer(GREETING)
    assert [delta.text for delta in plan.deltas] == [
        "Hello",
        " there",
        "!",
        " This",
        " is",
        " a",
        " scripted",
        " answer",
        ".",
    ]
    assert plan.finish == "stop"
    assert plan.text == "Hello there! This is a scripted answer."
    # " there" and "!" both end in the part "there! ": each gets half of its delay.
    assert [delta.share for delta in plan.deltas[:3]] == [1.0, 0.5, 0.5]


def test_plan_in_part_mode_sends_the_rule_parts() -> None:
    plan = plan_answer(GREETING, mode="part")
    assert tuple(delta.text for delta in plan.deltas) == GREETING.parts
    assert sum(delta.tokens for delta in plan.deltas) == count_tokens(plan.text)


@pytest.mark.parametrize("mode", ["token", "part"])
def test_plan_cut_by_max_tokens(mode: str) -> None:
    plan = plan_answer(GREETING, mode="token" if mode == "token" else "part", max_tokens=4)
    assert plan.finish == "length"
    assert plan.text == "Hello there! This"
    assert sum(delta.tokens for delta in plan.deltas) == 4


def test_max_tokens_equal_to_the_answer_is_not_a_cut() -> None:
    assert count_tokens(plan_answer(GREETING).text) == 9
    assert plan_answer(GREETING, max_tokens=9).finish == "stop"
    assert plan_answer(GREETING, max_tokens=8).finish == "length"


def test_plan_stops_before_a_stop_sequence() -> None:
    plan = plan_answer(GREETING, stop=["zzz", "is a", "This"])
    assert plan.finish == "stop_sequence"
    assert plan.stop_sequence == "This"
    assert plan.text == "Hello there! "


def test_plan_of_a_failing_rule() -> None:
    rule = text_rule(("One. ", "Two. ", "Never."), fail_after=2, error="boom")
    plan = plan_answer(rule)
    assert plan.finish is None
    assert plan.error == "boom"
    assert plan.text == "One. Two. "


def test_stop_sequence_before_the_failure_point_wins() -> None:
    rule = text_rule(("One. ", "Two. ", "Never."), fail_after=2, error="boom")
    assert plan_answer(rule, stop=["Two"]).finish == "stop_sequence"
    assert plan_answer(rule, stop=["Never"]).finish is None


def test_max_tokens_before_the_failure_point_wins() -> None:
    rule = text_rule(("One. ", "Two. ", "Never."), fail_after=2, error="boom")
    assert plan_answer(rule, max_tokens=2).finish == "length"
    assert plan_answer(rule, max_tokens=5).finish is None  # "One", ".", " Two", ".", " "


def test_fail_after_zero_sends_nothing() -> None:
    rule = text_rule(("Never.",), fail_after=0)
    plan = plan_answer(rule)
    assert plan.deltas == ()
    assert plan.finish is None


STREAM = StreamSettings(chunk_delay=0.5, first_chunk_delay=0.2)


def test_pace_defaults_to_the_stream_settings() -> None:
    pace = Pace.resolve(STREAM, GREETING)
    assert pace == Pace(first=0.2, part_delay=0.5)
    assert Pace.resolve(STREAM, GREETING, ModelPreset("any")) == pace


def test_model_pace_replaces_the_stream_settings() -> None:
    model = ModelPreset("m", ttft=1.5, tokens_per_second=20, jitter=0.1, seed=3)
    pace = Pace.resolve(STREAM, GREETING, model)
    assert pace == Pace(first=1.5, part_delay=0.5, token_delay=0.05, jitter=0.1, seed=3)


def test_rule_delays_win_over_the_model_pace() -> None:
    rule = text_rule(("a",), delay=2.0, first_chunk_delay=0.0)
    model = ModelPreset("m", ttft=1.5, tokens_per_second=20)
    pace = Pace.resolve(STREAM, rule, model)
    assert pace.first == 0.0
    assert pace.part_delay == 2.0
    assert pace.token_delay is None


def test_waits_spread_a_part_delay_over_its_tokens() -> None:
    plan = plan_answer(GREETING)
    waits = Pace(first=0.3, part_delay=1.0).waits(plan.deltas)
    assert waits[:4] == [0.3, 0.5, 0.5, 1.0]
    per_token = Pace(first=0.3, token_delay=0.1).waits(plan.deltas)
    assert per_token[1:] == [0.1] * (len(plan.deltas) - 1)


def test_jitter_is_bounded_and_reproducible_with_a_seed() -> None:
    deltas = [PlannedDelta("x", 1, 1.0)] * 50
    pace = Pace(first=1.0, token_delay=1.0, jitter=0.25, seed=42)
    waits = pace.waits(deltas)
    assert waits == pace.waits(deltas)
    assert all(0.75 <= wait <= 1.25 for wait in waits)
    assert len(set(waits)) > 1
    assert Pace(first=1.0, token_delay=1.0, jitter=0.25, seed=43).waits(deltas) != waits


async def events_of(
    plan: AnswerPlan,
    pace: Pace,
    *,
    timeout: float = 0.0,
    timeout_message: str = "timed out",
    keepalive: float = 0.0,
) -> list[PlayEvent]:
    playback = play(
        plan, pace, timeout=timeout, timeout_message=timeout_message, keepalive=keepalive
    )
    async with asyncio.timeout(5), aclosing(playback) as events:
        return [event async for event in events]


async def test_play_sends_every_delta_then_finished() -> None:
    events = await events_of(plan_answer(GREETING, max_tokens=3), Pace())
    assert events == [
        BlockStart(TEXT),
        Piece(TEXT, "Hello"),
        Piece(TEXT, " there"),
        Piece(TEXT, "!"),
        BlockEnd(TEXT, "Hello there!"),
        Finished("length", 3),
    ]


async def test_play_ends_a_failing_rule_with_failed() -> None:
    rule = text_rule(("One. ", "Two."), fail_after=1, error="boom")
    events = await events_of(plan_answer(rule), Pace())
    assert events == [  # the failing block is left open
        BlockStart(TEXT),
        Piece(TEXT, "One"),
        Piece(TEXT, "."),
        Piece(TEXT, " "),
        Failed("rule", "boom", 3),
    ]


async def test_play_times_out() -> None:
    events = await events_of(
        plan_answer(GREETING), Pace(part_delay=10.0), timeout=0.05, timeout_message="too slow"
    )
    assert events == [BlockStart(TEXT), Piece(TEXT, "Hello"), Failed("timeout", "too slow", 1)]


async def test_play_sends_keep_alives_during_long_pauses() -> None:
    events = await events_of(plan_answer(GREETING, max_tokens=1), Pace(first=0.1), keepalive=0.02)
    assert events[0] == BlockStart(TEXT)  # a block starts before the wait for its first piece
    assert events[-3:] == [Piece(TEXT, "Hello"), BlockEnd(TEXT, "Hello"), Finished("length", 1)]
    assert 1 <= events.count(KeepAlive()) <= 4  # 0.1 s of pause, one every 0.02 s at most
    assert set(events[1:-3]) == {KeepAlive()}


async def test_collect_gathers_the_text() -> None:
    async with aclosing(play(plan_answer(GREETING), Pace())) as events:
        collected = await collect(events)
    assert collected.text == "Hello there! This is a scripted answer."
    assert collected.end == Finished("stop", 9)


async def test_cancelling_play_stops_it_at_once() -> None:
    plan = plan_answer(GREETING)
    seen: list[PlayEvent] = []
    first = asyncio.Event()

    async def consume() -> None:
        async with aclosing(play(plan, Pace(part_delay=60.0))) as events:
            async for event in events:
                seen.append(event)
                if isinstance(event, Piece):
                    first.set()

    task = asyncio.create_task(consume())
    async with asyncio.timeout(5):
        await first.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert seen == [BlockStart(TEXT), Piece(TEXT, "Hello")]

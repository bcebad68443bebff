"""Stream ids and resume plans of the Redis broker's local mirror, without Redis."""

from __future__ import annotations

import pytest

from quart_qa.brokers.redis.mirror import (
    INVALID,
    Entry,
    StreamKey,
    Windowed,
    parse_stream_id,
    plan_resume,
    stream_key,
)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("1700000000000-3", (1700000000000, 3)),
        (" 1700000000000-3 ", (1700000000000, 3)),
        ("17", (17, 0)),
        ("0-0", (0, 0)),
        ("abc", INVALID),
        ("1-2-3", INVALID),
        ("-1", INVALID),
        ("１２", INVALID),  # fullwidth digits are digits to Python, not to Redis
        ("99999999999999999999-0", INVALID),  # beyond 64 bits
    ],
)
def test_parse_stream_id(raw: str | None, parsed: object) -> None:
    assert parse_stream_id(raw) == parsed


def test_stream_keys_order_like_the_stream() -> None:
    ids = ["1700000000000-10", "1700000000000-2", "1700000000001-0", "999-5"]
    assert sorted(ids, key=stream_key) == [
        "999-5",
        "1700000000000-2",
        "1700000000000-10",
        "1700000000001-0",
    ]


def window(*sequence: int) -> list[Windowed]:
    entries = [Entry(f"100-{seq}", "ANSWER_CHUNK", str(seq)) for seq in sequence]
    return [(entry.key, entry.stream_id, entry.event()) for entry in entries]


def replayed(resume_replay: tuple[object, ...]) -> list[str]:
    return [event.data for event in resume_replay]  # type: ignore[attr-defined]


def key(seq: int) -> StreamKey:
    return (100, seq)


def test_fresh_connection_starts_at_the_newest_id() -> None:
    resume = plan_resume(None, window(1, 2, 3), history=10, newest_id="100-3")
    assert (resume.position, resume.replay, resume.missed) == ("100-3", (), False)


def test_resume_replays_what_follows_the_id() -> None:
    resume = plan_resume(key(2), window(1, 2, 3, 4), history=10, newest_id="100-4")
    assert resume.position == "100-2"
    assert replayed(resume.replay) == ["3", "4"]
    assert not resume.missed


def test_a_full_window_keeps_history_events_after_a_boundary() -> None:
    events = window(1, 2, 3, 4)  # history 3: 1 only marks where the kept history starts
    assert replayed(plan_resume(key(1), events, 3, "100-4").replay) == ["2", "3", "4"]
    gone = plan_resume(key(0), events, 3, "100-4")
    assert gone.missed
    assert gone.position == "100-1"
    assert replayed(gone.replay) == ["2", "3", "4"]


@pytest.mark.parametrize(
    "after",
    [INVALID, (100, 9), (101, 0)],  # not an id; newer than anything issued
)
def test_unknown_ids_are_missed_with_the_whole_history(after: object) -> None:
    resume = plan_resume(after, window(1, 2), history=5, newest_id="100-2")  # type: ignore[arg-type]
    assert resume.missed
    assert resume.position == "0-0"
    assert replayed(resume.replay) == ["1", "2"]


def test_zero_id_is_the_start_of_an_untrimmed_stream() -> None:
    assert not plan_resume((0, 0), window(1, 2), 5, "100-2").missed
    assert plan_resume((0, 0), window(1, 2, 3), 2, "100-3").missed


def test_an_old_id_on_a_gone_stream_is_missed() -> None:
    resume = plan_resume((100, 1), [], history=5, newest_id="0-0")
    assert resume.missed
    assert resume.replay == ()

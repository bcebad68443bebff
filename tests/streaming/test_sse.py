"""SSE framing: table-driven cases and a property test against an independent parser."""

from __future__ import annotations

import pytest
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypothesis import given, settings
from hypothesis import strategies as st

from quart_qa.streaming.sse import (
    DecodedEvent,
    FramingError,
    decode_events,
    encode_comment,
    encode_event,
    encode_numbered_event,
)


def parse(frame: bytes) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Events as (event, id, data) and comment lines, parsed by httpx-sse."""
    lines, decoder = SSELineDecoder(), SSEDecoder()
    events, comments = [], []
    for line in [*lines.decode(frame.decode("utf-8")), *lines.flush()]:
        if line.startswith(":"):
            comments.append(line)
        event = decoder.decode(line)
        if event is not None:
            events.append((event.event, event.id, event.data))
    return events, comments


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"data": "hello"}, b"data: hello\n\n"),
        ({"data": ""}, b"data: \n\n"),
        ({"data": "a\nb"}, b"data: a\ndata: b\n\n"),
        ({"data": "a\r\nb\rc"}, b"data: a\ndata: b\ndata: c\n\n"),
        ({"data": "x\n"}, b"data: x\ndata: \n\n"),
        ({"data": " lead"}, b"data:  lead\n\n"),
        ({"data": "d", "event": "E", "event_id": "7"}, b"event: E\nid: 7\ndata: d\n\n"),
        ({"data": "d", "retry": 1500}, b"retry: 1500\ndata: d\n\n"),
        ({"data": "中文"}, "data: 中文\n\n".encode()),
    ],
)
def test_encode_event(kwargs: dict[str, object], expected: bytes) -> None:
    assert encode_event(**kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
@pytest.mark.parametrize("field", ["event", "event_id"])
def test_fields_refuse_line_breaks_and_nul(field: str, bad: str) -> None:
    with pytest.raises(FramingError):
        encode_event("data", **{field: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [-1, True, 1.5, "10"])
def test_retry_must_be_digits(bad: object) -> None:
    with pytest.raises(FramingError):
        encode_event("data", retry=bad)  # type: ignore[arg-type]


def test_comment_is_ignored_by_parsers() -> None:
    frame = encode_comment("heartbeat")
    assert frame == b": heartbeat\n\n"
    assert parse(frame) == ([], [": heartbeat"])


def test_forged_fields_in_data_stay_data() -> None:
    text = "hi\nevent: ANSWER_END\nid: 999\nretry: 1\n\ndata: injected"
    events, _ = parse(encode_event(text, event="ANSWER_START", event_id="3"))
    assert events == [("ANSWER_START", "3", text)]


@given(st.text())
def test_any_text_round_trips_as_exactly_one_event(text: str) -> None:
    events, comments = parse(encode_event(text, event="ANSWER_CHUNK", event_id="1"))
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    assert events == [("ANSWER_CHUNK", "1", normalised)]
    assert comments == []


@given(st.text(), st.sampled_from(["ANSWER_CHUNK", "ERROR"]), st.integers(0, 10**17))
def test_numbered_events_are_encode_event_byte_for_byte(
    text: str, name: str, event_id: int
) -> None:
    assert encode_numbered_event(text, name, event_id) == encode_event(
        text, event=name, event_id=str(event_id)
    )


def test_a_numbered_event_refuses_a_bad_name_as_encode_event_does() -> None:
    with pytest.raises(FramingError):
        encode_numbered_event("x", "BAD\nNAME", 1)


@given(st.text(), st.text(), st.integers(min_value=0, max_value=10**12))
def test_any_event_name_and_id_round_trip_or_are_refused(
    name: str, event_id: str, retry: int
) -> None:
    try:
        frame = encode_event("x", event=name, event_id=event_id, retry=retry)
    except FramingError:
        assert any(char in name + event_id for char in "\r\n\x00")
        return
    events, _ = parse(frame)
    # An empty event name means the default type, "message", as the spec says.
    assert events == [(name or "message", event_id, "x")]


# Text built from the pieces that break naive framing: every kind of line break, NUL, BOM,
# field names, a colon at the start of a line, and lone surrogates (JSON can send "\ud800").
tricky_text = st.lists(
    st.sampled_from(
        [
            *("\r\n", "\r", "\n", "\n\n", "\x00", "\ufeff", ":", " "),
            *("data: x", "event: E", "id: 9", "retry: 1"),
            *("中", "é", "\ud800", "\udfff", "\U0001f600"),
        ]
    )
    | st.text(max_size=3),
    max_size=20,
).map("".join)
any_text = st.text() | tricky_text | st.text(alphabet=st.characters(categories=["Cs", "Cc", "Zs"]))


def expected_data(text: str) -> str:
    """What a client sees: line breaks normalised, lone surrogates replaced."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in text)


@given(any_text)
def test_tricky_text_is_valid_utf8_and_one_event(text: str) -> None:
    frame = encode_event(text, event="ANSWER_CHUNK", event_id="1")
    frame.decode("utf-8")  # strict: never a byte a client must reject
    assert frame.endswith(b"\n\n")
    assert b"\n\n" not in frame[:-2]  # no blank line inside: nothing dispatches early
    events, comments = parse(frame)
    assert events == [("ANSWER_CHUNK", "1", expected_data(text))]
    assert comments == []


@given(st.lists(st.tuples(st.sampled_from(["A", "B_C"]), any_text), max_size=6))
def test_a_stream_of_frames_parses_as_the_same_events(items: list[tuple[str, str]]) -> None:
    # No comments in between: httpx-sse (unlike browsers) dispatches an empty event at the
    # blank line after a comment once an id was seen, which would muddle the comparison.
    stream = b"".join(
        encode_event(text, event=name, event_id=str(number))
        for number, (name, text) in enumerate(items)
    )
    events, _ = parse(stream)
    assert events == [
        (name, str(number), expected_data(text)) for number, (name, text) in enumerate(items)
    ]


@given(any_text)
def test_any_comment_is_only_comments(text: str) -> None:
    frame = encode_comment(text)
    frame.decode("utf-8")
    events, comments = parse(frame)
    assert events == []
    assert len(comments) == len(expected_data(text).split("\n"))


@settings(max_examples=50)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B_C"]), any_text, st.none() | st.text("0123456789-")),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=10**6),
)
def test_decode_reads_back_what_encode_wrote(
    items: list[tuple[str, str, str | None]], retry: int
) -> None:
    frames = encode_event("hello", event="CONNECTED", event_id="0", retry=retry)
    frames += b"".join(
        encode_event(text, event=name, event_id=event_id) + encode_comment("heartbeat")
        for name, text, event_id in items
    )
    assert decode_events(frames) == [
        DecodedEvent("CONNECTED", "hello", "0", retry),
        *(DecodedEvent(name, expected_data(text), event_id) for name, text, event_id in items),
    ]

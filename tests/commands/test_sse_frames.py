"""The client's SSE parser: line endings, multi-line data, comments, split bytes."""

from __future__ import annotations

import pytest

from quart_qa.commands.sse_frames import SseEvent, SseParser

STREAM = (
    "event: CONNECTED\nid: 1\nretry: 3000\ndata: 连接已建立\n\n"
    ": heartbeat\n\n"
    "event: ANSWER_CHUNK\r\nid: 2\r\ndata: one\r\ndata: two\r\n\r\n"
    "data: plain\rdata:no space\r\r"
).encode()
EVENTS = [
    SseEvent("CONNECTED", "连接已建立", "1", 3000),
    SseEvent("ANSWER_CHUNK", "one\ntwo", "2"),
    SseEvent("message", "plain\nno space"),
]


@pytest.mark.parametrize("size", [1, 2, 7, len(STREAM)])
def test_events_are_the_same_however_the_bytes_are_split(size: int) -> None:
    parser = SseParser()
    events = []
    for start in range(0, len(STREAM), size):
        events.extend(parser.feed(STREAM[start : start + size]))
    events.extend(parser.feed(b"\n"))  # the last CR alone could still become a CRLF
    assert events == EVENTS


def test_a_frame_without_its_blank_line_is_not_dispatched() -> None:
    parser = SseParser()
    assert parser.feed(b"event: ANSWER_END\ndata: done\n") == []
    assert parser.feed(b"\n") == [SseEvent("ANSWER_END", "done")]

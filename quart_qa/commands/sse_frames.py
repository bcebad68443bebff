"""Reading Server-Sent Events off a byte stream, as the bytes arrive.

A small incremental parser for the client side (the server's framing is
``streaming/sse.py``): lines end with CRLF, LF or CR, a blank line ends an event, comment
lines are skipped, several ``data:`` lines join with LF.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_LINE_END = re.compile(r"\r\n?|\n")


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event; ``id`` is None when the frame had no ``id:`` field."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SseParser:
    """Feed bytes in, get whole events out."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self._seen_field = False

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """The events completed by ``chunk``."""
        self._buffer += self._decoder.decode(chunk)
        events: list[SseEvent] = []
        while True:
            line, found = self._next_line()
            if not found:
                return events
            event = self._line(line)
            if event is not None:
                events.append(event)

    def _next_line(self) -> tuple[str, bool]:
        match = _LINE_END.search(self._buffer)
        if match is None or (match.group() == "\r" and match.end() == len(self._buffer)):
            return "", False  # no whole line yet (a CR at the end may be half of a CRLF)
        line = self._buffer[: match.start()]
        self._buffer = self._buffer[match.end() :]
        return line, True

    def _line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        self._seen_field = True
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SseEvent | None:
        if not self._seen_field:
            return None
        event = SseEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
        self._event, self._data, self._id, self._retry = "", [], None, None
        self._seen_field = False
        return event

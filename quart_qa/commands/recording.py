"""What ``quart-qa record`` keeps of each exchange, and the TOML script it becomes.

An :class:`Exchange` reads the upstream's answer as it passes through the proxy (the same
stream readers ``ask`` uses) and notes when each piece arrived. :class:`Recording` turns the
exchanges into ``[[answers]]`` rules, one per question, and writes a file that
``quart-qa serve`` loads unedited: it is checked with the server's own loader before it is
written. Request headers, and so API keys, are never looked at.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import tomli_w

from ..dialects.anthropic_request import messages_conversation
from ..dialects.api_errors import LlmApiError
from ..dialects.message_params import last_user_text
from ..dialects.openai_chat_request import chat_conversation
from ..settings.answer_parsing import rule_from_mapping
from ..settings.answers import ANY_TOOL
from ..settings.config import settings_from_mapping
from .pieces import AnswerFailed, Piece, Text, Thinking, ToolCall
from .sse_frames import SseParser
from .stream_readers import AnthropicEvents, OpenAIChunks, StreamReader

RecordedApi = Literal["openai", "anthropic"]
PATHS: dict[str, RecordedApi] = {"/v1/chat/completions": "openai", "/v1/messages": "anthropic"}
UNRECORDED_ANSWER = "(quart-qa record: nothing was recorded for this question)"
_REGEX_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()]")


def exact_match(question: str) -> str:
    """A ``match`` regex that finds exactly ``question`` (rules match case-insensitively)."""
    return "^" + _REGEX_SPECIAL.sub(lambda found: "\\" + found.group(), question) + "$"


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment: nothing secret goes into the file."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass
class Exchange:
    """One request through the proxy and the answer as it arrived.

    ``tool_result`` names the tool whose result ended the request's messages (``"*"`` when its
    call is not among them), None when the request ended with the user's question.
    """

    api: RecordedApi
    question: str
    model: str
    streamed: bool
    tool_result: str | None = None
    started: float = field(default_factory=time.perf_counter)
    pieces: list[tuple[float, Piece]] = field(default_factory=list)
    error: str | None = None
    duration: float = 0.0
    _parser: SseParser = field(default_factory=SseParser)
    _reader: StreamReader | None = None
    _body: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(cls, path: str, request_body: bytes) -> Exchange | None:
        """An exchange for a request to one of the LLM APIs; None for anything else."""
        api = PATHS.get(path.rstrip("/"))
        if api is None:
            return None
        try:
            body = json.loads(request_body)
            messages = body["messages"]
            conversation = (
                chat_conversation(messages, last_user_text(messages))
                if api == "openai"
                else messages_conversation(messages)
            )
        except (ValueError, LookupError, TypeError, AttributeError, LlmApiError):
            return None  # not a request the upstream can answer: nothing to record
        tool_result = conversation.tool_result
        return cls(
            api,
            conversation.question,
            str(body.get("model", "")),
            body.get("stream") is True,
            tool_result=None if tool_result is None else tool_result or ANY_TOOL,
        )

    @property
    def key(self) -> tuple[str, str | None]:
        """What a replay tells this exchange's request apart by."""
        return self.question, self.tool_result

    def feed(self, chunk: bytes) -> None:
        """Note what ``chunk`` of the response carries, and when it arrived."""
        now = time.perf_counter() - self.started
        if not self.streamed:
            self._body.extend(chunk)
            return
        if self._reader is None:
            self._reader = OpenAIChunks() if self.api == "openai" else AnthropicEvents()
        if self.error is not None:
            return
        try:
            for event in self._parser.feed(chunk):
                self.pieces.extend((now, piece) for piece in self._reader.read(event))
        except AnswerFailed as failure:
            self.error = str(failure) or "upstream error"

    def finish(self) -> None:
        """The response ended: read a whole (non-streamed) answer."""
        self.duration = time.perf_counter() - self.started
        if self.streamed:
            if isinstance(self._reader, OpenAIChunks):
                self.pieces.extend((self.duration, piece) for piece in self._reader.finish())
            return
        answer = whole_answer(self.api, json.loads(self._body))
        self.pieces = [(self.duration, piece) for piece in answer]

    def rule(self) -> dict[str, Any]:
        """This exchange as one ``[[answers]]`` table: its pieces as ``parts`` when all are
        text, else as ``steps`` (reasoning, text, tool calls); paced from their arrival."""
        rule: dict[str, Any] = {"match": exact_match(self.question)}
        if self.tool_result is not None:
            rule["after_tool"] = self.tool_result
        pieces = [piece for _at, piece in self.pieces]
        if not pieces:
            rule["parts"] = ["…"]  # the upstream failed before anything: fail_after = 0
        elif all(isinstance(piece, Text) for piece in pieces):
            rule["parts"] = [piece.text for piece in pieces if isinstance(piece, Text)]
        else:
            rule["steps"] = steps_of(pieces)
        count = rule_from_mapping(rule, "answers[0]").part_count
        if self.error is not None:
            rule["fail_after"] = count if pieces else 0
            rule["error"] = self.error
        if pieces:
            times = [at for at, _piece in self.pieces]
            rule["first_chunk_delay"] = round(times[0], 3)
            # Every part but the first waits `delay`: spread the pieces' span over them.
            rule["delay"] = round((times[-1] - times[0]) / max(1, count - 1), 4)
        return rule

    def summary(self) -> str:
        """One line for the proxy's log and the file."""
        first = f"{self.pieces[0][0]:.2f} s to the first piece, " if self.pieces else ""
        ended = f"failed: {self.error!r}" if self.error else f"{len(self.pieces)} pieces"
        after = "" if self.tool_result is None else f" after {self.tool_result} returned"
        question = f"{self.question[:60]!r}{after}"
        return f"{self.api} {question}: {first}{ended}, {self.duration:.2f} s"


def steps_of(pieces: list[Piece]) -> list[dict[str, Any]]:
    """Pieces as rule steps: runs of reasoning or text joined, each tool call its own step."""
    steps: list[dict[str, Any]] = []
    for piece in pieces:
        if isinstance(piece, ToolCall):
            steps.append({"tool": piece.name, "arguments": piece.arguments or "{}"})
            continue
        kind = "reasoning" if isinstance(piece, Thinking) else "text"
        if steps and kind in steps[-1]:
            steps[-1][kind] += piece.text
        else:
            steps.append({kind: piece.text})
    return steps


def whole_answer(api: RecordedApi, body: Any) -> list[Piece]:
    """The pieces of a non-streamed answer."""
    pieces: list[Piece] = []
    if api == "openai":
        message = (body.get("choices") or [{}])[0].get("message") or {}
        if message.get("content"):
            pieces.append(Text(message["content"]))
        for call in message.get("tool_calls") or ():
            function = call.get("function") or {}
            pieces.append(ToolCall(function.get("name", ""), function.get("arguments", "{}")))
        return pieces
    for block in body.get("content") or ():
        if block.get("type") == "text":
            pieces.append(Text(block["text"]))
        elif block.get("type") == "tool_use":
            pieces.append(ToolCall(block.get("name", ""), json.dumps(block.get("input") or {})))
    return pieces


@dataclass
class Recording:
    """The exchanges recorded so far, one per question (the latest wins), and their file."""

    out: Path
    upstream: str
    exchanges: dict[tuple[str, str | None], Exchange] = field(default_factory=dict)

    def add(self, exchange: Exchange) -> None:
        """Keep ``exchange`` and rewrite the file."""
        self.exchanges.pop(exchange.key, None)
        self.exchanges[exchange.key] = exchange
        self.write()

    def toml(self) -> str:
        """The script: a header, a ``[stream]`` that lets the slowest answer finish, the rules."""
        longest = max((exchange.duration for exchange in self.exchanges.values()), default=0.0)
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"# Recorded by `quart-qa record` from {safe_url(self.upstream)} on {stamp}:",
            f"# {len(self.exchanges)} question(s), each answered with the text and pace it got.",
            "# Replay it: quart-qa serve --config " + self.out.name,
            "",
            tomli_w.dumps({"stream": {"answer_timeout": max(60, int(longest * 2) + 1)}}),
        ]
        # An answer to a tool's result first: the question alone matches those requests too.
        ordered = sorted(self.exchanges.values(), key=lambda exchange: exchange.tool_result is None)
        for exchange in ordered:
            lines.append(f"# {exchange.summary()}")
            lines.append(tomli_w.dumps({"answers": [exchange.rule()]}))
        lines.append("# Any other question")
        lines.append(tomli_w.dumps({"answers": [{"parts": [UNRECORDED_ANSWER]}]}))
        return "\n".join(lines)

    def write(self) -> None:
        """Check the script with the server's loader, then replace the file in one step."""
        text = self.toml()
        settings_from_mapping(tomllib.loads(text), source=str(self.out))
        handle, temporary = tempfile.mkstemp(dir=self.out.parent or ".", suffix=".toml")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, self.out)

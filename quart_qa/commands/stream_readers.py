"""The LLM APIs' streamed frames as pieces: OpenAI chunks and Anthropic events.

``ask`` and ``demo`` read answers through them, and ``record`` notes what each answer
carried and when.
"""

from __future__ import annotations

import json
from typing import Any

from .pieces import AnswerFailed, Piece, Text, Thinking, ToolCall
from .sse_frames import SseEvent


class OpenAIChunks:
    """OpenAI Chat Completions chunks (``data:`` JSON) as pieces; tool calls once whole."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}
        self.done = False

    def read(self, event: SseEvent) -> list[Piece]:
        """The pieces in one event; raises :class:`AnswerFailed` on an error frame."""
        if event.data == "[DONE]":
            self.done = True
            return self.finish()
        chunk = json.loads(event.data)
        if "error" in chunk:
            raise AnswerFailed(str(chunk["error"].get("message", chunk["error"])))
        pieces: list[Piece] = []
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                pieces.append(Thinking(reasoning))
            if delta.get("content"):
                pieces.append(Text(delta["content"]))
            for fragment in delta.get("tool_calls") or ():
                call = self._calls.setdefault(fragment.get("index", 0), {})
                function = fragment.get("function") or {}
                for key, value in (
                    ("id", fragment.get("id")),
                    ("name", function.get("name")),
                    ("arguments", function.get("arguments")),
                ):
                    call[key] = call.get(key, "") + (value or "")
            if choice.get("finish_reason"):
                pieces.extend(self.finish())
        return pieces

    def finish(self) -> list[Piece]:
        """The tool calls still being assembled, now whole."""
        calls = [
            ToolCall(call.get("name", ""), call.get("arguments") or "{}", call.get("id", ""))
            for _index, call in sorted(self._calls.items())
        ]
        self._calls.clear()
        return list(calls)


class AnthropicEvents:
    """Anthropic Messages events as pieces; a ``tool_use`` block once it stops."""

    def __init__(self) -> None:
        self._blocks: dict[int, dict[str, Any]] = {}
        self.done = False

    def read(self, event: SseEvent) -> list[Piece]:
        """The pieces in one event; raises :class:`AnswerFailed` on an ``error`` event."""
        body = json.loads(event.data)
        kind = body.get("type", event.event)
        if kind == "error":
            error = body.get("error") or {}
            raise AnswerFailed(str(error.get("message", error)))
        if kind == "content_block_start":
            self._blocks[body["index"]] = {**body["content_block"], "partial_json": ""}
        elif kind == "content_block_delta":
            delta = body["delta"]
            if delta.get("type") == "text_delta":
                return [Text(delta["text"])]
            if delta.get("type") == "thinking_delta":
                return [Thinking(delta["thinking"])]
            if delta.get("type") == "input_json_delta":
                self._blocks[body["index"]]["partial_json"] += delta["partial_json"]
        elif kind == "content_block_stop":
            block = self._blocks.pop(body["index"], {})
            if block.get("type") == "tool_use":
                arguments = block["partial_json"] or json.dumps(block.get("input") or {})
                return [ToolCall(block.get("name", ""), arguments, block.get("id", ""))]
        elif kind == "message_stop":
            self.done = True
        return []


StreamReader = OpenAIChunks | AnthropicEvents

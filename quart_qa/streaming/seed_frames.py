"""The chat page's events for an answer's steps (docs/protocol.md, "Reasoning and tool calls").

Text and object steps stay ``ANSWER_CHUNK`` events, one a part, as the seed sent them; reasoning
parts are ``REASONING_CHUNK``; a tool call is ``TOOL_CALL_START``, its arguments' JSON in
``TOOL_CALL_ARGS`` pieces, ``TOOL_CALL_END`` with the whole arguments, and ``TOOL_RESULT`` when
the step scripts the tool's output. Tool events carry JSON naming the call. The seed's page
listens for its own event names only, so it ignores the new ones.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from ..settings.answers import AnswerRule, Step, compact_json
from .completions import tokenize

ANSWER_CHUNK = "ANSWER_CHUNK"
REASONING_CHUNK = "REASONING_CHUNK"
TOOL_CALL_START = "TOOL_CALL_START"
TOOL_CALL_ARGS = "TOOL_CALL_ARGS"
TOOL_CALL_END = "TOOL_CALL_END"
TOOL_RESULT = "TOOL_RESULT"


@dataclass(frozen=True)
class SeedFrame:
    """One event of an answer.

    ``part`` is the index of the rule part the frame belongs to (``fail_after`` counts
    parts); ``share`` is the part of one chunk delay to wait before it: 0 for the frames
    around a tool call's arguments, which follow at once.
    """

    event: str
    data: str
    part: int
    share: float = 1.0


def _tool_frames(step: Step, part: int) -> Iterator[SeedFrame]:
    call_id = f"call_{uuid.uuid4().hex[:24]}"
    last = part + len(step.parts) - 1
    yield SeedFrame(TOOL_CALL_START, compact_json({"id": call_id, "name": step.tool}), part, 0)
    for index, text in enumerate(step.parts):
        # A part's JSON streams in token-sized pieces spread over its one chunk delay.
        pieces = tokenize(text) or (text,)
        for piece in pieces:
            delta = compact_json({"id": call_id, "delta": piece})
            yield SeedFrame(TOOL_CALL_ARGS, delta, part + index, 1 / len(pieces))
    arguments = json.loads(step.text)
    yield SeedFrame(TOOL_CALL_END, compact_json({"id": call_id, "arguments": arguments}), last, 0)
    if step.output is not None:
        output = json.loads(step.output)
        yield SeedFrame(TOOL_RESULT, compact_json({"id": call_id, "output": output}), last, 0)


def seed_frames(rule: AnswerRule) -> Iterator[SeedFrame]:
    """Every event of ``rule``'s answer between ``ANSWER_START`` and its end, in order."""
    part = 0
    for step in rule.steps:
        if step.kind == "tool_call":
            yield from _tool_frames(step, part)
        else:
            event = REASONING_CHUNK if step.kind == "reasoning" else ANSWER_CHUNK
            for index, text in enumerate(step.parts):
                yield SeedFrame(event, text, part + index)
        part += len(step.parts)

"""The output items of a Responses answer (``reasoning``, ``message``, ``function_call``) and
the numbered event frame every Responses event is."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..streaming.completions import Block
from ..streaming.frames import Template
from ..streaming.sse import encode_event
from .api_responses import compact_json
from .openai_chat_chunks import call_id
from .responses_request import new_id


def summary(text: str) -> dict[str, Any]:
    """A reasoning item's summary part."""
    return {"type": "summary_text", "text": text}


def output_text(text: str) -> dict[str, Any]:
    """A message item's content part."""
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def response_event(kind: str, sequence: int | str, fields: dict[str, Any]) -> bytes:
    """One event frame (``sequence`` a string only as a template's marker)."""
    data = {"type": kind, "sequence_number": sequence, **fields}
    return encode_event(compact_json(data), event=kind)


@dataclass
class OutputItem:
    """One output item while it streams: its block, id and text so far."""

    block: Block
    id: str
    text: str = ""

    def body(self, status: str) -> dict[str, Any]:
        """The item as ``output_item.added`` (``in_progress``) or ``.done`` shows it."""
        done = status != "in_progress"
        if self.block.kind == "reasoning":
            return {
                "id": self.id,
                "type": "reasoning",
                "summary": [summary(self.text)] if done else [],
            }
        if self.block.call is not None:
            return {
                "id": self.id,
                "type": "function_call",
                "status": status,
                "arguments": self.text,
                "call_id": call_id(self.block.call),
                "name": self.block.call.name,
            }
        return {
            "id": self.id,
            "type": "message",
            "status": status,
            "content": [output_text(self.text)] if done else [],
            "role": "assistant",
        }

    @cached_property
    def delta_frame(self) -> Template:
        """The item's delta event, rendered once: ``delta_frame(sequence_number, text)``."""
        where = {"item_id": self.id, "output_index": self.block.index}
        if self.block.kind == "reasoning":
            kind = "response.reasoning_summary_text.delta"
            return Template(
                lambda number, text: response_event(
                    kind, number, {**where, "summary_index": 0, "delta": text}
                ),
                2,
            )
        if self.block.call is not None:
            kind = "response.function_call_arguments.delta"
            return Template(
                lambda number, text: response_event(kind, number, {**where, "delta": text}), 2
            )
        kind = "response.output_text.delta"
        return Template(
            lambda number, text: response_event(
                kind, number, {**where, "content_index": 0, "delta": text, "logprobs": []}
            ),
            2,
        )


def new_item(block: Block) -> OutputItem:
    """An output item for ``block``, with a fresh id."""
    prefix = "rs" if block.kind == "reasoning" else "fc" if block.call is not None else "msg"
    return OutputItem(block, new_id(prefix))

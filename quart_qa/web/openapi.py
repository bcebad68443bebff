"""The OpenAPI document: quart-schema's, plus what its JSON-only models cannot say."""

from __future__ import annotations

from typing import Any

from quart_schema import OpenAPIProvider

CONNECT_PATH = "/qa/connect/{user_id}"
EVENT_NAMES = (
    "CONNECTED",
    "ANSWER_START",
    "ANSWER_CHUNK",
    "ANSWER_END",
    "ERROR",
    "ANSWER_CANCELLED",
    "EVENTS_MISSED",
    "SERVER_SHUTDOWN",
)
SSE_EVENT_SCHEMA = {
    "type": "object",
    "description": "One event of the stream, as a client's parser sees it.",
    "properties": {
        "event": {"type": "string", "enum": list(EVENT_NAMES)},
        "id": {"type": "string", "pattern": "^[0-9]+(-[0-9]+)?$"},
        "data": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
    "required": ["event", "data"],
}
EVENT_STREAM_RESPONSE = {
    "description": (
        "The user's Server-Sent Events stream: CONNECTED first, then ANSWER_START, "
        "ANSWER_CHUNK, ANSWER_END, ERROR, ANSWER_CANCELLED, EVENTS_MISSED, SERVER_SHUTDOWN "
        "(see docs/protocol.md)."
    ),
    "content": {"text/event-stream": {"schema": SSE_EVENT_SCHEMA}},
}


class QAOpenAPIProvider(OpenAPIProvider):
    """Adds the event stream of ``GET /qa/connect/<user_id>`` as its 200 response."""

    def schema(self) -> dict[str, Any]:
        """The document served at ``/openapi.json``."""
        spec = super().schema()
        operation = spec.get("paths", {}).get(CONNECT_PATH, {}).get("get")
        if operation is not None:
            operation.setdefault("responses", {})[200] = EVENT_STREAM_RESPONSE
        return spec
